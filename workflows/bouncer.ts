// A member's bounce state, `bouncer/<list>/<address>`: Mailman 3's score (one increment a day at most, reset when
// stale), delivery disabled at the threshold, warnings on durable timers, then removal; re-enabling cancels it.
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { CoreActivities, OutboundActivities } from '../activities/index.js';
import {
  bounceSignal,
  bouncerStatusQuery,
  ListflowState,
  reenableSignal,
  type BounceSignal,
  type BouncerContext,
  type BouncerSettings,
  type BouncerState,
  type BouncerStatus,
} from './messages.js';

const DAY_MS = 86_400_000;
/** Bounces and re-enables a run handles before it continues as new (a storm of bounces for one member). */
const MAX_EVENTS_PER_RUN = 100;
const MAX_HISTORY = 1_000;
/** How many recent events the status keeps, and how many bounce IDs are remembered to ignore repeats. */
const KEEP_EVENTS = 20;
const KEEP_SEEN = 100;

/** What continue-as-new carries: everything the status shows, and what the score and the countdown depend on. */
export interface BouncerCarried {
  status: BouncerStatus;
  /** The UTC day (days since the epoch) the score last rose, and by how much. */
  lastIncrementDay: number | null;
  dayIncrement: number;
  seen: string[];
  verpToken: string | null;
  /** The countdown's settings, fixed when delivery was disabled. */
  countdown: { warnings: number; intervalDays: number; notifyOwnerOnRemoval: boolean } | null;
  staleAfterDays: number;
}

export interface BouncerInput {
  list: string;
  address: string;
  deliveryTaskQueue: string;
  carried?: BouncerCarried;
  /** Signals the previous run had not handled when it continued as new. */
  pending?: { bounces: BounceSignal[]; reenables: { by: string }[] };
  /** Tests set these low to see continue-as-new. */
  maxEventsPerRun?: number;
  maxHistory?: number;
}

// A day of retries for the database (scores and countdowns live here, so it waits out an outage); an error no
// retry heals (the list gone, a setting that no longer validates) fails the bouncer at once, with the reason.
const core = proxyActivities<CoreActivities>({
  startToCloseTimeout: '1m',
  scheduleToCloseTimeout: '1d',
  retry: { initialInterval: '5s', maximumInterval: '10m', backoffCoefficient: 2 },
});

const dayOf = (ms: number): number => Math.floor(ms / DAY_MS);
const round = (n: number): number => Math.round(n * 100) / 100;
const iso = (ms: number): string => new Date(ms).toISOString();

export async function bouncerWorkflow(input: BouncerInput): Promise<BouncerStatus> {
  const notices = proxyActivities<OutboundActivities>({
    taskQueue: input.deliveryTaskQueue,
    startToCloseTimeout: '5m',
    // A notice that cannot go out within a day must not hold up the countdown.
    scheduleToCloseTimeout: '1d',
    retry: { initialInterval: '30s', maximumInterval: '30m', backoffCoefficient: 2 },
  });
  const c: BouncerCarried = input.carried ?? {
    status: {
      list: input.list,
      address: input.address,
      state: 'scoring',
      score: 0,
      threshold: 5,
      lastBounceAt: null,
      disabledAt: null,
      warningsSent: 0,
      warningsTotal: 0,
      nextAction: null,
      nextActionAt: null,
      events: [],
      detail: '',
      updatedAt: iso(Date.now()),
    },
    lastIncrementDay: null,
    dayIncrement: 0,
    seen: [],
    verpToken: null,
    countdown: null,
    staleAfterDays: 7,
  };
  const s = c.status;
  const inbox: BounceSignal[] = [...(input.pending?.bounces ?? [])];
  const reenables: { by: string }[] = [...(input.pending?.reenables ?? [])];
  setHandler(bounceSignal, (b) => void inbox.push(b));
  setHandler(reenableSignal, (r) => void reenables.push(r));
  setHandler(bouncerStatusQuery, () => ({ ...s, events: [...s.events] }));

  const touch = () => (s.updatedAt = iso(Date.now()));
  const setState = (state: BouncerState) => {
    if (s.state !== state) upsertSearchAttributes([{ key: ListflowState, value: state }]);
    s.state = state;
  };
  const note = (e: { at?: string; permanent?: boolean; reason: string; source: string; id?: string; status?: string | null }, effect: string) => {
    s.events.push({ at: e.at ?? iso(Date.now()), permanent: e.permanent ?? false, reason: e.reason, source: e.source, id: e.id ?? '', status: e.status ?? null, effect });
    if (s.events.length > KEEP_EVENTS) s.events.splice(0, s.events.length - KEEP_EVENTS);
    touch();
  };
  const end = (state: 'removed' | 'ended', detail: string) => {
    setState(state);
    s.detail = detail;
    s.nextAction = null;
    s.nextActionAt = null;
    touch();
  };
  const recent = () => s.events.filter((e) => e.source !== 'owner' && e.source !== 'member').map((e) => ({ at: e.at, reason: e.reason, status: e.status }));
  const removalAt = (): string => iso(Date.parse(s.disabledAt ?? iso(Date.now())) + (c.countdown?.warnings ?? 0) * (c.countdown?.intervalDays ?? 7) * DAY_MS);
  const schedule = () => {
    const cd = c.countdown;
    if (!cd || !s.disabledAt) return;
    s.nextAction = s.warningsSent < cd.warnings ? 'warning' : 'removal';
    s.nextActionAt = iso(Date.parse(s.disabledAt) + s.warningsSent * cd.intervalDays * DAY_MS);
  };

  async function context(given?: BouncerContext): Promise<BouncerSettings | null> {
    // While disabled, always the database's word: a sender's snapshot may predate the disabling.
    const ctx = given && s.state !== 'disabled' ? given : await core.bouncerContext({ list: input.list, address: input.address });
    if (!ctx.settings || !ctx.member) {
      end('ended', ctx.settings ? `${input.address} is no longer a member of ${input.list}` : `the list ${input.list} no longer exists`);
      return null;
    }
    if (s.state === 'disabled') {
      // The countdown belongs to the membership it disabled: not to a new one (removed and added again), and not
      // once delivery was turned back on some other way.
      if (c.verpToken && ctx.member.verpToken !== c.verpToken) {
        end('ended', `the membership of ${input.address} ended and a new one began; the countdown does not apply to it`);
        return null;
      }
      if (ctx.member.deliveryStatus !== 'by_bounces') {
        end('ended', `delivery to ${input.address} was turned back on (${ctx.member.deliveryStatus}); the countdown is cancelled`);
        return null;
      }
    }
    c.verpToken = ctx.member.verpToken;
    c.staleAfterDays = ctx.settings.staleAfterDays;
    s.threshold = ctx.settings.threshold;
    return ctx.settings;
  }

  async function tellMember(kind: 'disabled' | 'warning' | 'removed'): Promise<string> {
    try {
      const r = await notices.notifyBouncingMember({
        list: input.list,
        address: input.address,
        kind,
        verpToken: c.verpToken ?? '',
        score: s.score,
        events: recent(),
        warning: s.warningsSent,
        warnings: c.countdown?.warnings ?? 0,
        removalAt: removalAt(),
      });
      return r.detail;
    } catch (err) {
      return `not sent (${(err as Error).message})`;
    }
  }

  async function tellOwners(kind: 'disabled' | 'removed'): Promise<string> {
    try {
      const r = await notices.notifyOwnersOfBouncer({ list: input.list, address: input.address, kind, score: s.score, events: recent(), warnings: c.countdown?.warnings ?? 0, removalAt: removalAt() });
      return r.detail;
    } catch (err) {
      return `not sent (${(err as Error).message})`;
    }
  }

  async function remove(): Promise<void> {
    const r = await core.removeBouncingMember({ list: input.list, address: input.address, ...(c.verpToken ? { verpToken: c.verpToken } : {}) });
    if (r.outcome === 'already') return end('ended', `the membership of ${input.address} had already ended`);
    const member = await tellMember('removed');
    note({ reason: `removed from the list (member notice: ${member})`, source: 'member' }, 'removed');
    if (c.countdown?.notifyOwnerOnRemoval) note({ reason: `owners told: ${await tellOwners('removed')}`, source: 'owner' }, 'notice');
    end('removed', `removed from ${input.list} at ${iso(Date.now())} after ${s.warningsSent} warning(s)`);
  }

  async function disable(settings: BouncerSettings): Promise<void> {
    const r = await core.setBounceDelivery({ list: input.list, address: input.address, enabled: false });
    if (!r.member) return end('ended', `${input.address} is no longer a member of ${input.list}`);
    setState('disabled');
    s.disabledAt = iso(Date.now());
    c.countdown = { warnings: settings.warnings, intervalDays: settings.warningIntervalDays, notifyOwnerOnRemoval: settings.notifyOwnerOnRemoval };
    s.warningsTotal = settings.warnings;
    s.warningsSent = settings.warnings > 0 ? 1 : 0;
    s.detail = `delivery disabled at score ${s.score}`;
    // The notice at disable time is the first warning (Mailman 3); with no warnings the member is removed at once.
    if (settings.warnings > 0) note({ reason: `delivery disabled; member told: ${await tellMember('disabled')}`, source: 'member' }, 'disabled');
    if (settings.notifyOwnerOnDisable) note({ reason: `owners told: ${await tellOwners('disabled')}`, source: 'owner' }, 'notice');
    if (settings.warnings === 0) return remove();
    schedule();
  }

  async function onBounce(b: BounceSignal): Promise<void> {
    if (c.seen.includes(b.id)) return;
    c.seen.push(b.id);
    if (c.seen.length > KEEP_SEEN) c.seen.splice(0, c.seen.length - KEEP_SEEN);
    const settings = await context(b.context);
    if (!settings) return;
    const previous = s.lastBounceAt;
    s.lastBounceAt = iso(Date.now());
    if (s.state === 'disabled') return note(b, 'not counted: delivery is already disabled');
    if (!settings.processBounces) return note(b, 'not counted: process_bounces is off');
    const today = dayOf(Date.now());
    let effect = '';
    // Mailman 3: information older than bounce_info_stale_after days starts the score again.
    if (previous !== null && today - dayOf(Date.parse(previous)) > settings.staleAfterDays && s.score > 0) {
      s.score = 0;
      effect = 'score reset (stale); ';
    }
    const increment = b.permanent ? 1 : settings.temporaryScore;
    if (increment <= 0) effect += 'not counted: a temporary failure (bounce_temporary_score is 0)';
    else if (c.lastIncrementDay === today && increment <= c.dayIncrement) effect += 'not counted: the score already rose today';
    else {
      const added = c.lastIncrementDay === today ? increment - c.dayIncrement : increment;
      s.score = round(s.score + added);
      c.lastIncrementDay = today;
      c.dayIncrement = increment;
      effect += `+${round(added)}`;
    }
    note(b, `${effect}; score ${s.score} of ${settings.threshold}`);
    if (s.score >= settings.threshold) await disable(settings);
  }

  async function onReenable(r: { by: string }): Promise<void> {
    if (s.state === 'disabled') {
      await core.setBounceDelivery({ list: input.list, address: input.address, enabled: true });
      note({ reason: `delivery re-enabled by ${r.by}; the removal countdown is cancelled`, source: 'member' }, 're-enabled');
    } else {
      note({ reason: `re-enabled by ${r.by}`, source: 'member' }, 'score reset');
    }
    setState('scoring');
    s.score = 0;
    s.disabledAt = null;
    s.warningsSent = 0;
    s.warningsTotal = 0;
    s.nextAction = null;
    s.nextActionAt = null;
    s.detail = `re-enabled by ${r.by} at ${iso(Date.now())}; score reset`;
    c.lastIncrementDay = null;
    c.dayIncrement = 0;
    c.countdown = null;
    s.lastBounceAt = null;
  }

  async function dueAction(): Promise<void> {
    const settings = await context();
    if (!settings) return;
    if (s.nextAction === 'removal') return remove();
    s.warningsSent += 1;
    note({ reason: `warning ${s.warningsSent} of ${c.countdown?.warnings ?? 0}: ${await tellMember('warning')}`, source: 'member' }, 'warning');
    schedule();
  }

  let handled = 0;
  const maxEvents = input.maxEventsPerRun ?? MAX_EVENTS_PER_RUN;
  const tooLong = () => handled >= maxEvents || workflowInfo().historyLength > (input.maxHistory ?? MAX_HISTORY) || workflowInfo().continueAsNewSuggested;
  const finished = () => s.state === 'removed' || s.state === 'ended';
  for (;;) {
    while (!finished() && (reenables.length > 0 || inbox.length > 0)) {
      const r = reenables.shift();
      if (r) await onReenable(r);
      else await onBounce(inbox.shift() as BounceSignal);
      handled += 1;
    }
    if (finished()) return { ...s };
    if (tooLong()) {
      await condition(allHandlersFinished);
      // Anything signalled meanwhile is handled by the next run, in order.
      const carried: BouncerCarried = { ...c, status: { ...s, events: [...s.events] } };
      await continueAsNew<typeof bouncerWorkflow>({ ...input, carried, pending: { bounces: [...inbox], reenables: [...reenables] } });
    }
    const woken = () => inbox.length > 0 || reenables.length > 0 || tooLong();
    if (s.state === 'disabled') {
      if (await condition(woken, Math.max(1, Date.parse(s.nextActionAt ?? iso(Date.now())) - Date.now()))) continue;
      await dueAction();
      continue;
    }
    // Scoring: nothing to remember once the score is zero or stale; the next bounce starts a fresh run.
    if (s.lastBounceAt === null || s.score === 0) {
      await condition(allHandlersFinished);
      if (inbox.length > 0 || reenables.length > 0) continue;
      end('ended', s.detail || `no score to keep (${s.events.at(-1)?.effect ?? 'nothing counted'})`);
      return { ...s };
    }
    const staleAt = (dayOf(Date.parse(s.lastBounceAt)) + c.staleAfterDays + 1) * DAY_MS;
    s.nextAction = 'reset';
    s.nextActionAt = iso(staleAt);
    if (await condition(woken, Math.max(1, staleAt - Date.now()))) continue;
    await condition(allHandlersFinished);
    if (inbox.length > 0 || reenables.length > 0) continue;
    s.score = 0;
    end('ended', `no bounce for more than ${c.staleAfterDays} day(s): the score is reset`);
    return { ...s };
  }
}
