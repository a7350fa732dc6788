/** Builds nothing and starts nothing shared: each suite starts the servers it needs. */
export default function setup(): void {
  process.env['TZ'] = 'UTC';
}
