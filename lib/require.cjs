'use strict';
// What `require('collective')` returns: collective.js's constructor itself, as its README
// wrote it (`var Collective = require('collective'); new Collective(local, allHosts, cb)`),
// with every named export on it (`require('collective').get`, `.Collective`, `.default`). The
// package's CommonJS entry; the build copies it next to the compiled index.js.
module.exports = require('./index.js').default;
