// What decoration knows about a post and its list, and the {variable} templates of msg_header / msg_footer.
import { listSubAddress } from '../address.js';
import { mailtoUnsubscribe } from '../links.js';
import type { ListSettings } from '../settings.js';

export interface DecorationContext {
  list: string;
  displayName: string;
  settings: ListSettings;
  /** The post's list sequence number. */
  seq: number;
  /** Base URL of listflow's HTTP endpoints. */
  publicUrl: string;
}

/** The member a per-recipient copy goes to; absent in the copy every member shares. */
export interface MemberVars {
  address: string;
  unsubscribeUrl: string;
}

export const TEMPLATE_VARIABLES: Record<string, string> = {
  list: 'the list address',
  display_name: "the list's display name",
  description: "the list's description",
  post_number: "the post's sequence number",
  request_email: 'the -request address',
  owner_email: 'the -owner address',
  archive_url: "the list's archive",
  member: "the member's address (per-recipient delivery; empty otherwise)",
  unsubscribe_url: "the member's one-click unsubscribe link (per-recipient), else the -leave mailto: address",
};

/** Names a template uses that are not variables, for the setting's validation. */
export function unknownVariables(template: string): string[] {
  return [...template.matchAll(/\{([a-z_]+)\}/g)].map((m) => m[1] as string).filter((v) => !(v in TEMPLATE_VARIABLES));
}

/** Whether a template depends on who receives the copy. */
export function isPersonal(template: string): boolean {
  return /\{(member|unsubscribe_url)\}/.test(template);
}

export function renderTemplate(template: string, ctx: DecorationContext, member: MemberVars | null): string {
  const vars: Record<string, string> = {
    list: ctx.list,
    display_name: ctx.displayName,
    description: ctx.settings.description,
    post_number: String(ctx.seq),
    request_email: listSubAddress(ctx.list, 'request'),
    owner_email: listSubAddress(ctx.list, 'owner'),
    archive_url: archiveUrl(ctx.publicUrl, ctx.list),
    member: member?.address ?? '',
    unsubscribe_url: member?.unsubscribeUrl ?? mailtoUnsubscribe(ctx.list),
  };
  // Settings store one line; "\n" in a template is a line break, as people type it on the command line.
  return template.replace(/\\n/g, '\n').replace(/\{([a-z_]+)\}/g, (all, name: string) => vars[name] ?? all);
}

export function archiveUrl(publicUrl: string, list: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/archive/${encodeURIComponent(list.toLowerCase())}`;
}
