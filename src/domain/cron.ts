/**
 * Cron expressions as Harbor's schedules write them: six fields, seconds first
 * (`0 0 * * * *` hourly), as robfig/cron parses them; five fields (minutes first) are taken too.
 * Each field: `*`, `?` (day fields), numbers, ranges `a-b`, steps `*\/n` and `a-b/n`, lists
 * `a,b`; month and weekday names (JAN, MON). Weekday 0 and 7 are Sunday. As in cron, when both
 * day-of-month and day-of-week are restricted a day matching either runs. Times are UTC.
 */

export interface CronSchedule {
  readonly source: string;
  seconds: ReadonlySet<number>;
  minutes: ReadonlySet<number>;
  hours: ReadonlySet<number>;
  days: ReadonlySet<number>;
  months: ReadonlySet<number>;
  weekdays: ReadonlySet<number>;
  daysRestricted: boolean;
  weekdaysRestricted: boolean;
}

export class CronError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CronError';
  }
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
  /** first value the names stand for */
  nameBase?: number;
}

const FIELDS: readonly FieldSpec[] = [
  { name: 'second', min: 0, max: 59 },
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS, nameBase: 1 },
  { name: 'day of week', min: 0, max: 7, names: DAYS, nameBase: 0 },
];

function value(s: string, f: FieldSpec): number {
  const upper = s.toUpperCase();
  const byName = f.names?.indexOf(upper) ?? -1;
  if (byName >= 0) return byName + (f.nameBase ?? 0);
  if (!/^\d{1,2}$/.test(s)) throw new CronError(`${f.name}: ${JSON.stringify(s)} is not a number`);
  const n = Number(s);
  if (n < f.min || n > f.max) throw new CronError(`${f.name}: ${n} is outside ${f.min}-${f.max}`);
  return n;
}

function field(text: string, f: FieldSpec): { values: Set<number>; restricted: boolean } {
  const values = new Set<number>();
  let restricted = true;
  for (const part of text.split(',')) {
    if (part === '') throw new CronError(`${f.name}: empty list item`);
    const [range, stepText, extra] = part.split('/');
    if (extra !== undefined) throw new CronError(`${f.name}: ${JSON.stringify(part)} has two steps`);
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d{1,2}$/.test(stepText) || Number(stepText) === 0) throw new CronError(`${f.name}: step ${JSON.stringify(stepText)} must be a positive number`);
      step = Number(stepText);
    }
    let lo: number;
    let hi: number;
    if (range === '*' || range === '?') {
      if (range === '?' && f.min !== 1 && f.name !== 'day of week') throw new CronError(`${f.name}: ? is only for day fields`);
      lo = f.min;
      hi = f.name === 'day of week' ? 6 : f.max;
      if (stepText === undefined) restricted = false;
    } else if (range!.includes('-')) {
      const [a, b] = range!.split('-');
      lo = value(a!, f);
      hi = value(b!, f);
      if (lo > hi) throw new CronError(`${f.name}: range ${range} runs backwards`);
    } else {
      lo = value(range!, f);
      hi = stepText === undefined ? lo : f.max;
    }
    for (let v = lo; v <= hi; v += step) values.add(f.name === 'day of week' && v === 7 ? 0 : v);
  }
  return { values, restricted };
}

export function parseCron(expr: string): CronSchedule {
  const parts = expr.trim().split(/\s+/);
  if (parts.length === 5) parts.unshift('0');
  if (parts.length !== 6) throw new CronError(`a cron expression has 6 fields (second minute hour day month weekday), got ${parts.length}`);
  const [s, mi, h, d, mo, w] = parts.map((p, i) => field(p, FIELDS[i]!));
  return {
    source: expr,
    seconds: s!.values,
    minutes: mi!.values,
    hours: h!.values,
    days: d!.values,
    months: mo!.values,
    weekdays: w!.values,
    daysRestricted: d!.restricted,
    weekdaysRestricted: w!.restricted,
  };
}

function dayMatches(c: CronSchedule, t: Date): boolean {
  const dom = c.days.has(t.getUTCDate());
  const dow = c.weekdays.has(t.getUTCDay());
  if (c.daysRestricted && c.weekdaysRestricted) return dom || dow;
  return dom && dow;
}

/** The first time strictly after `afterMs` (ms since epoch, UTC) the schedule fires; undefined when none within 5 years. */
export function nextCronTime(c: CronSchedule, afterMs: number): number | undefined {
  const t = new Date(Math.floor(afterMs / 1000) * 1000 + 1000);
  const limit = afterMs + 5 * 366 * 24 * 3600_000;
  while (t.getTime() <= limit) {
    if (!c.months.has(t.getUTCMonth() + 1)) {
      t.setUTCMonth(t.getUTCMonth() + 1, 1);
      t.setUTCHours(0, 0, 0, 0);
      continue;
    }
    if (!dayMatches(c, t)) {
      t.setUTCDate(t.getUTCDate() + 1);
      t.setUTCHours(0, 0, 0, 0);
      continue;
    }
    if (!c.hours.has(t.getUTCHours())) {
      t.setUTCHours(t.getUTCHours() + 1, 0, 0, 0);
      continue;
    }
    if (!c.minutes.has(t.getUTCMinutes())) {
      t.setUTCMinutes(t.getUTCMinutes() + 1, 0, 0);
      continue;
    }
    if (!c.seconds.has(t.getUTCSeconds())) {
      t.setUTCSeconds(t.getUTCSeconds() + 1, 0);
      continue;
    }
    return t.getTime();
  }
  return undefined;
}
