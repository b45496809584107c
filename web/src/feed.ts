// The message feed: one list ordered by message id (within a room the same order as its
// seq), whatever order messages arrive in (history pages, live broadcasts, recovered or
// gap-filled messages), each shown once; a date line where a day begins, and a "new
// messages" line where the reader left off. A feed outlives its screen: it keeps filling
// while the person is elsewhere, and is put back where it was.

import { h, icon } from './dom';
import type { I18n, Key } from './i18n';
import type { Message } from './types';

const NEAR_BOTTOM_PX = 96;
const MINUTE_MS = 60 * 1000;

const ALERT_KEYS: Record<string, Key> = {
  join: 'alert.join',
  leave: 'alert.leave',
  rename: 'alert.rename',
  expire: 'alert.expire',
};

// About oneself, in the second person: "입장했어요", not "올빼미님이 입장했습니다."
const OWN_ALERT_KEYS: Record<string, Key> = {
  join: 'alert.joinSelf',
  leave: 'alert.leaveSelf',
  rename: 'alert.renameSelf',
};

export interface FeedOptions {
  myId: () => string;
  loadOlder: () => void;
}

/** A local calendar day, for date lines. */
function dayKey(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`;
}

export class Feed {
  readonly el: HTMLElement;
  private readonly list: HTMLOListElement;
  private readonly head: HTMLElement;
  private readonly olderBtn: HTMLButtonElement;
  private readonly preview: HTMLButtonElement;
  private readonly previewText: HTMLElement;
  private readonly unreadLine: HTMLElement;
  private readonly ids: number[] = [];
  private readonly nodes = new Map<number, HTMLElement>();
  private readonly messages = new Map<number, Message>();
  private hasMore = false;
  private loading = false;
  private attached = false;
  /** Where the reader was when the screen went away: the bottom, or a scroll offset. */
  private savedTop: number | 'bottom' = 'bottom';
  private unreadFrom: number | undefined;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly i18n: I18n,
    private readonly opts: FeedOptions,
  ) {
    this.olderBtn = i18n.text(
      h('button', { class: 'btn ghost small older', attrs: { type: 'button' }, on: { click: () => opts.loadOlder() } }),
      'chat.loadOlder',
    );
    this.head = h('div', { class: 'feed-head' });
    this.list = h('ol', { class: 'messages' });
    const scroller = h('div', { class: 'feed', attrs: { tabindex: '0' } }, this.head, this.list);
    i18n.attr(scroller, 'aria-label', 'chat.feedLabel');
    this.list.setAttribute('role', 'log');
    this.list.setAttribute('aria-live', 'polite');
    this.list.setAttribute('aria-relevant', 'additions');

    this.previewText = h('span', { class: 'preview-text' });
    this.preview = h(
      'button',
      { class: 'new-preview', attrs: { type: 'button', hidden: true }, on: { click: () => this.scrollToBottom() } },
      icon('down', 16),
      i18n.text(h('strong'), 'chat.newMessage'),
      this.previewText,
    );
    this.unreadLine = h('p', { class: 'unread-line', attrs: { role: 'separator' } }, i18n.text(h('span'), 'chat.unreadLine'));
    this.el = h('div', { class: 'feed-wrap' }, scroller, this.preview);
    scroller.addEventListener('scroll', () => this.onScroll(), { passive: true });
    this.renderHead();
    this.unsubscribe = i18n.onChange(() => {
      for (const t of this.list.querySelectorAll<HTMLTimeElement>('.msg time, .alert time')) t.textContent = i18n.time(t.dateTime);
      for (const t of this.list.querySelectorAll<HTMLTimeElement>('.day-line time')) t.textContent = i18n.day(t.dateTime);
    });
  }

  private get scroller(): HTMLElement {
    return this.el.firstElementChild as HTMLElement;
  }

  destroy(): void {
    this.unsubscribe();
  }

  get oldestId(): number | undefined {
    return this.ids[0];
  }

  get newestId(): number | undefined {
    return this.ids[this.ids.length - 1];
  }

  get newest(): Message | undefined {
    const id = this.newestId;
    return id === undefined ? undefined : this.messages.get(id);
  }

  get size(): number {
    return this.ids.length;
  }

  has(id: number): boolean {
    return this.messages.has(id);
  }

  /** The messages with an id above after, oldest first. */
  after(after: number): Message[] {
    const out: Message[] = [];
    for (let i = this.ids.length - 1; i >= 0 && this.ids[i] > after; i--) out.push(this.messages.get(this.ids[i])!);
    return out.reverse();
  }

  /** Every message, oldest first. */
  all(): Message[] {
    return this.ids.map((id) => this.messages.get(id)!);
  }

  /** The feed is on screen again: put the reader back where they were, or at the new-messages line. */
  attach(): void {
    this.attached = true;
    if (this.savedTop === 'bottom') this.scrollToBottom();
    else this.scroller.scrollTop = this.savedTop;
    this.revealUnread();
  }

  /** Brings the "new messages" line into view when it is above what the reader sees. */
  revealUnread(): void {
    const li = this.unreadLine.parentElement;
    if (!this.attached || !li) return;
    const s = this.scroller;
    if (li.offsetTop < s.scrollTop + 24) s.scrollTop = Math.max(0, li.offsetTop - 48);
  }

  /** The feed leaves the screen (its element is detached, which loses the scroll offset). */
  detach(): void {
    this.savedTop = this.isNearBottom() ? 'bottom' : this.scroller.scrollTop;
    this.attached = false;
  }

  isNearBottom(): boolean {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < NEAR_BOTTOM_PX;
  }

  scrollToBottom(): void {
    const s = this.scroller;
    s.scrollTop = s.scrollHeight;
    this.preview.hidden = true;
  }

  setHistoryState(hasMore: boolean, loading: boolean): void {
    this.hasMore = hasMore;
    this.loading = loading;
    this.renderHead();
  }

  /** Whether the reader is close enough to the top that older messages should load. */
  wantsOlder(): boolean {
    return this.attached && this.hasMore && !this.loading && this.scroller.scrollTop < 240;
  }

  /**
   * Shows the "new messages" line above the first message with an id above lastRead, or
   * removes it (undefined, or nothing newer).
   */
  markUnreadAfter(lastRead: number | undefined): void {
    this.unreadLine.remove();
    this.unreadFrom = undefined;
    if (lastRead === undefined) return;
    const first = this.after(lastRead)[0];
    if (!first) return;
    this.unreadFrom = first.id;
    this.placeUnreadLine();
  }

  private placeUnreadLine(): void {
    if (this.unreadFrom === undefined) return;
    const li = this.nodes.get(this.unreadFrom);
    if (!li) return;
    // After the date line, if the day begins here too.
    const day = li.querySelector(':scope > .day-line');
    li.insertBefore(this.unreadLine, day ? day.nextSibling : li.firstChild);
  }

  private renderHead(): void {
    if (this.loading) {
      this.head.replaceChildren(this.i18n.text(h('p', { class: 'feed-note', attrs: { role: 'status' } }), 'chat.loadingOlder'));
    } else if (this.hasMore) {
      this.head.replaceChildren(this.olderBtn);
    } else {
      this.head.replaceChildren(this.i18n.text(h('p', { class: 'feed-note' }), 'chat.beginning'));
    }
  }

  private onScroll(): void {
    if (this.isNearBottom()) this.preview.hidden = true;
    if (this.wantsOlder()) this.opts.loadOlder();
  }

  /**
   * Adds messages it has not seen, each at its place by id. Older history keeps the reader's
   * view where it was; new messages follow the bottom if the reader was there, or raise the
   * "new message" preview if they were reading further up.
   */
  add(msgs: Message[], kind: 'history' | 'live'): Message[] {
    const s = this.scroller;
    const wasNearBottom = this.attached ? this.isNearBottom() : this.savedTop === 'bottom';
    const prevHeight = s.scrollHeight;
    const prevTop = s.scrollTop;
    const added: Message[] = [];
    for (const m of msgs) {
      if (typeof m?.id !== 'number' || this.messages.has(m.id)) continue;
      this.insert(m);
      added.push(m);
    }
    if (added.length === 0 || !this.attached) return added;
    const newest = added.reduce((a, b) => (b.id > a.id ? b : a));
    const atEnd = newest.id === this.newestId;
    if (kind === 'history' && !atEnd) {
      // Prepended above the reader: keep what they were looking at in place.
      s.scrollTop = prevTop + (s.scrollHeight - prevHeight);
    } else if (wasNearBottom || added.some((m) => m.chatterId === this.opts.myId() && m.type === 'MESSAGE')) {
      this.scrollToBottom();
    } else if (kind === 'live' && atEnd) {
      this.showPreview(newest);
    }
    return added;
  }

  /**
   * Draws again the messages of the person, now that they are known to be theirs: their own
   * join alert reaches them before the join's answer says who they are.
   */
  redrawMine(): void {
    const me = this.opts.myId();
    if (!me) return;
    this.ids.forEach((id, i) => {
      const m = this.messages.get(id)!;
      const old = this.nodes.get(id)!;
      if (m.chatterId !== me || old.dataset.mine === 'true') return;
      const node = this.render(m);
      if (this.unreadLine.parentElement === old) node.prepend(this.unreadLine);
      old.replaceWith(node);
      this.nodes.set(id, node);
      this.restyle(i);
    });
  }

  private showPreview(m: Message): void {
    if (m.type === 'ALERT') {
      this.previewText.textContent = this.alertText(m);
    } else {
      const who = m.chatter?.nickname ?? '';
      const text = m.content.length > 60 ? `${m.content.slice(0, 60)}…` : m.content;
      this.previewText.textContent = who ? `${who}: ${text}` : text;
    }
    this.preview.hidden = false;
  }

  /** An alert in the reader's language: about them in the second person, anyone else by name. */
  alertText(m: Message): string {
    const [key, args] = this.alertKey(m);
    return key ? this.i18n.t(key, args) : m.content;
  }

  private alertKey(m: Message): [Key | undefined, Record<string, string>] {
    if (!m.alert) return [undefined, {}];
    const args = { nickname: m.alert.nickname, newNickname: m.alert.newNickname ?? '' };
    const own = m.chatterId !== null && m.chatterId === this.opts.myId() ? OWN_ALERT_KEYS[m.alert.kind] : undefined;
    return [own ?? ALERT_KEYS[m.alert.kind], args];
  }

  private insert(m: Message): void {
    // Binary search for the first id greater than m.id.
    let lo = 0;
    let hi = this.ids.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.ids[mid] < m.id) lo = mid + 1;
      else hi = mid;
    }
    const node = this.render(m);
    const nextId = this.ids[lo];
    if (nextId === undefined) this.list.appendChild(node);
    else this.list.insertBefore(node, this.nodes.get(nextId)!);
    this.ids.splice(lo, 0, m.id);
    this.nodes.set(m.id, node);
    this.messages.set(m.id, m);
    this.restyle(lo);
    if (lo + 1 < this.ids.length) this.restyle(lo + 1);
  }

  /**
   * A message that begins a day gets a date line. Consecutive messages from one person
   * within the same minute form a group: one nickname, one time.
   */
  private restyle(index: number): void {
    const m = this.messages.get(this.ids[index])!;
    const node = this.nodes.get(m.id)!;
    const prev = index > 0 ? this.messages.get(this.ids[index - 1]) : undefined;
    const newDay = !prev || dayKey(prev.sentAt) !== dayKey(m.sentAt);
    const line = node.querySelector(':scope > .day-line');
    if (newDay && !line) {
      const time = h('time', { attrs: { datetime: m.sentAt } });
      time.textContent = this.i18n.day(m.sentAt);
      node.prepend(h('p', { class: 'day-line', attrs: { role: 'separator' } }, time));
    } else if (!newDay && line) line.remove();
    const cont =
      !!prev &&
      !newDay &&
      m.type === 'MESSAGE' &&
      prev.type === 'MESSAGE' &&
      prev.chatterId === m.chatterId &&
      Math.floor(Date.parse(m.sentAt) / MINUTE_MS) === Math.floor(Date.parse(prev.sentAt) / MINUTE_MS);
    node.classList.toggle('cont', cont);
    // Within a group only the last message shows its time.
    if (prev) this.nodes.get(prev.id)!.classList.toggle('has-next', cont);
  }

  private render(m: Message): HTMLElement {
    const node = this.renderMessage(m);
    if (m.chatterId && m.chatterId === this.opts.myId()) node.dataset.mine = 'true';
    return node;
  }

  private renderMessage(m: Message): HTMLElement {
    const time = h('time', { attrs: { datetime: m.sentAt } });
    time.textContent = this.i18n.time(m.sentAt);
    if (m.type === 'ALERT') {
      const text = h('span', { class: 'alert-text' });
      const [key, args] = this.alertKey(m);
      if (key) this.i18n.text(text, key, args);
      else text.textContent = m.content;
      return h(
        'li',
        { class: `alert kind-${m.alert?.kind ?? 'other'}`, attrs: { 'data-id': m.id } },
        h('div', { class: 'alert-pill' }, text, time),
      );
    }
    const mine = m.chatterId === this.opts.myId();
    const nick = m.chatter?.nickname ?? '';
    const who = mine
      ? this.i18n.text(h('span', { class: 'sr-only' }), 'chat.you')
      : h('span', { class: 'nick', text: nick });
    return h(
      'li',
      { class: `msg ${mine ? 'mine' : 'theirs'}`, attrs: { 'data-id': m.id } },
      who,
      h('div', { class: 'msg-row' }, h('p', { class: 'bubble', text: m.content }), time),
    );
  }
}
