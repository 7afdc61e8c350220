/** A dashboard's options, checked and completed with the defaults (hub/settings.ts). */
export interface DashboardSettings {
  readonly port: number;
  readonly host: string;
  /** The secret every request must carry, if any. */
  readonly token: string | undefined;
  /** How often the event stream sends the hub's stats, in ms. */
  readonly intervalMs: number;
}
