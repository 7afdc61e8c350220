import { describe, expectTypeOf, it } from 'vitest';
import collective, { Collective, type CollectiveStats, type DashboardOptions, type JsonInput, type JsonValue, type MemberLinkStats } from '../lib/index.js';

// The compiler refuses what the store refuses at run time: values are typed as JSON. (These
// are checked by `npm run typecheck`, part of `npm test`: a `@ts-expect-error` line that
// compiles is itself an error.)
describe('value types', () => {
  it('a write takes JSON values, interfaces and readonly data included', () => {
    interface User {
      name: string;
      tags: string[];
      age?: number;
      address: { city: string } | null;
    }
    expectTypeOf(new Collective().set<User>).parameter(1).toEqualTypeOf<User & JsonInput<User>>();
    expectTypeOf<JsonInput<User>>().not.toBeNever();
    expectTypeOf<JsonInput<readonly [1, 'a', { b: null }]>>().not.toBeNever();
    expectTypeOf<JsonInput<JsonValue>>().toEqualTypeOf<JsonValue>();
  });

  it('a Date, a function, a Map, undefined or a BigInt, anywhere in a value, make the value never', () => {
    expectTypeOf(new Collective().set<Date>).parameter(1).toBeNever();
    expectTypeOf(collective.set<() => void>).parameter(1).toBeNever();
    expectTypeOf(collective.append<Map<string, number>>).parameter(1).toBeNever();
    expectTypeOf(collective.cas<undefined>).parameter(2).toBeNever();
    expectTypeOf<JsonInput<{ at: Date }>['at']>().toBeNever();
    expectTypeOf<JsonInput<bigint[]>[number]>().toBeNever();
  });

  it('so such calls do not compile', () => {
    const hub = new Collective();
    const check = (): void => {
      // @ts-expect-error a Date is not JSON
      void hub.set('when', new Date());
      // @ts-expect-error a function is not JSON
      void hub.set('callback', () => 1);
      // @ts-expect-error nor is one nested in an object
      void collective.set('nested', { at: new Date() });
      // @ts-expect-error nor a Set in a list
      void collective.append('list', [new Set()]);
      // @ts-expect-error undefined is not a value (delete the path instead)
      void hub.set('nothing', undefined);
    };
    expectTypeOf(check).toBeFunction();
    void hub.close();
  });
});

describe('the dashboard and the stats it reads', () => {
  it('takes its options on the hub and from serveDashboard, and says where it is', () => {
    expectTypeOf<DashboardOptions>().toEqualTypeOf<{ port?: number; host?: string; token?: string; insecure?: boolean; intervalMs?: number }>();
    expectTypeOf(new Collective().serveDashboard).parameter(0).toEqualTypeOf<DashboardOptions | undefined>();
    expectTypeOf(new Collective().serveDashboard).returns.toEqualTypeOf<Promise<{ url: string }>>();
    expectTypeOf<Collective['dashboardUrl']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<CollectiveStats['memberList']>().toEqualTypeOf<MemberLinkStats[]>();
    expectTypeOf<MemberLinkStats['kind']>().toEqualTypeOf<'worker' | 'thread'>();
  });
});

