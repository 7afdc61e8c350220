import { pathToFileURL } from 'node:url';

/**
 * The URL of this very file, in either build. The ESM build could read `import.meta.url` and
 * the CommonJS one `__filename`, but one TypeScript source compiled to both cannot name either
 * (`import.meta` does not even parse in CommonJS). A structured stack frame names the file in
 * both; `prepareStackTrace` is swapped for the call only, so source-map tools that rewrite
 * stack strings do not get in the way.
 */
export function ownUrl(): string {
  const original = Error.prepareStackTrace;
  let file: string | null | undefined;
  try {
    Error.prepareStackTrace = (_error, sites) => sites;
    const sites = new Error().stack as unknown as NodeJS.CallSite[];
    file = sites[0]?.getFileName();
  } finally {
    Error.prepareStackTrace = original;
  }
  if (file === undefined || file === null) throw new Error('collective: cannot tell where its own files are');
  return file.startsWith('file:') ? file : pathToFileURL(file).href;
}
