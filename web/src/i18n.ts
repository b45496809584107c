// Korean and English UI text. Elements that show translated text remember their key in
// data attributes, so switching the language re-translates the page in place.

export type Lang = 'ko' | 'en';
type Args = Record<string, string | number>;
type Entry = string | ((a: Args) => string);

/** 으로/로 after a Korean word: 로 after a vowel or ㄹ, 으로 after another final consonant. */
function ro(word: string): string {
  const last = word.trim().slice(-1);
  const code = last.charCodeAt(0) - 0xac00;
  if (code < 0 || code > 11171) return '(으)로';
  const final = code % 28;
  return final === 0 || final === 8 ? '로' : '으로';
}

const ko = {
  'brand.tagline': '가입 없이 링크 하나로 시작하는 익명 채팅',
  'lang.switch': 'English',
  'lang.switchLabel': 'Switch to English',
  'home.heading': '새 채팅방 만들기',
  'home.lead': '링크를 공유하면 누구나 바로 들어올 수 있어요. 채팅방은 만료되면 사라집니다.',
  'home.myRooms': '참여 중인 채팅방',
  'form.title': '채팅방 이름',
  'form.titlePlaceholder': '예: 금요일 저녁 약속',
  'form.capacity': '최대 인원',
  'form.capacityN': '{n}명',
  'form.usePassword': '비밀번호 걸기',
  'form.password': '비밀번호',
  'form.passwordPlaceholder': '12자 이내',
  'form.create': '채팅방 만들기',
  'form.creating': '만드는 중…',
  'form.titleRequired': '채팅방 이름을 입력해 주세요.',
  'form.passwordRequired': '비밀번호를 입력해 주세요.',
  'form.tooLong': '{max}자까지 입력할 수 있어요.',
  'enter.heading': '이 채팅방에 입장할까요?',
  'enter.capacity': '최대 {n}명',
  'enter.online': '{n}명 대화 중',
  'enter.expiresIn': '{time} 후 만료',
  'enter.locked': '비밀번호가 걸린 채팅방이에요.',
  'enter.password': '비밀번호',
  'enter.wrongPassword': '비밀번호가 올바르지 않습니다. 다시 입력해 주세요.',
  'enter.submit': '입장하기',
  'enter.entering': '입장하는 중…',
  'common.home': '처음으로',
  'common.loading': '불러오는 중…',
  'common.retry': '다시 시도',
  'screen.notFound.title': '채팅방을 찾을 수 없어요',
  'screen.notFound.text': '주소가 올바른지 확인해 주세요.',
  'screen.full.title': '채팅방이 가득 찼어요',
  'screen.full.text': '지금은 들어갈 자리가 없어요. 잠시 후 다시 시도해 주세요.',
  'screen.expired.title': '만료된 채팅방이에요',
  'screen.expired.text': '채팅이 만료되어 더 이상 사용할 수 없습니다.',
  'screen.error.title': '문제가 생겼어요',
  'screen.left.title': '채팅방에서 나왔어요',
  'screen.left.text': '다른 사람들에게 퇴장했다고 알렸어요. 다시 들어가면 새 닉네임으로 입장해요.',
  'screen.left.again': '다시 입장하기',
  'leave.title': '채팅방을 나갈까요?',
  'leave.text': '나가면 다른 사람들에게 퇴장했다고 알려지고, 이 채팅방의 대화는 더 이상 볼 수 없어요.',
  'leave.confirm': '나가기',
  'common.cancel': '취소',
  'home.noMessages': '아직 메시지가 없어요',
  'home.unread': '읽지 않은 메시지 {n}개',
  'home.roomFull': '자리가 없어 다시 들어가지 못했어요',
  'home.roomUnavailable': '지금은 들어갈 수 없어요',
  'enter.full': '지금은 자리가 없어요. 누군가 나가면 바로 입장할 수 있어요.',
  'enter.fullButton': '채팅방이 가득 찼어요',
  'chat.backToRooms': '채팅방 목록',
  'chat.nicknameTaken': '이 채팅방에서 이미 쓰는 닉네임이에요: {nickname}. 다른 닉네임을 골라 주세요.',
  'chat.unreadLine': '여기부터 새 메시지',
  'alert.joinSelf': (a: Args) => `${a.nickname}${ro(String(a.nickname))} 입장했어요.`,
  'alert.leaveSelf': '채팅방에서 나갔어요.',
  'alert.renameSelf': (a: Args) => `닉네임을 ${a.newNickname}${ro(String(a.newNickname))} 바꿨어요.`,
  'when.yesterday': '어제',
  'chat.placeholder': '메시지를 입력하세요',
  'chat.inputLabel': '메시지 입력',
  'chat.send': '보내기',
  'chat.hint': 'Enter 보내기 · Shift+Enter 줄바꿈',
  'chat.feedLabel': '대화 내용',
  'chat.loadOlder': '이전 메시지 불러오기',
  'chat.loadingOlder': '이전 메시지를 불러오는 중…',
  'chat.beginning': '여기서부터 대화가 시작됐어요',
  'chat.newMessage': '새 메시지',
  'chat.typing1': '{a}님이 입력 중…',
  'chat.typing2': '{a}님과 {b}님이 입력 중…',
  'chat.typingMany': '여러 명이 입력 중…',
  'chat.copyLink': '링크 복사',
  'chat.copied': '링크를 복사했어요',
  'chat.copyFailed': '복사하지 못했어요. 주소를 직접 복사해 주세요.',
  'chat.menu': '채팅방 메뉴',
  'chat.closeMenu': '메뉴 닫기',
  'chat.shareTitle': '친구를 초대하세요',
  'chat.shareText': '이 링크를 공유하면 누구나 들어올 수 있어요.',
  'chat.roomUrl': '채팅방 주소',
  'chat.nickname': '내 닉네임',
  'chat.changeNickname': '변경',
  'chat.nicknameChanged': '닉네임을 바꿨어요',
  'chat.online': '대화 상대',
  'chat.me': '나',
  'chat.expiresAt': '만료 시각',
  'chat.remaining': '{time} 남음',
  'chat.remainingLabel': '만료까지 남은 시간',
  'chat.expiring': '곧 만료',
  'chat.leave': '채팅방 나가기',
  'chat.sendFailed': '메시지를 보내지 못했어요.',
  'chat.offline': '연결이 끊겨 있어요. 다시 연결되면 보내 주세요.',
  'chat.tooLong': '메시지는 {max}자까지 보낼 수 있어요.',
  'chat.you': '나',
  'status.connected': '연결됨',
  'status.connecting': '연결 중…',
  'status.reconnecting': '연결이 끊겼어요. 다시 연결하는 중…',
  'status.disconnected': '연결이 끊겼어요',
  'status.reconnect': '다시 연결',
  'status.short.connected': '연결됨',
  'status.short.connecting': '연결 중…',
  'status.short.reconnecting': '재연결 중…',
  'status.short.disconnected': '연결 끊김',
  'alert.join': '{nickname}님이 입장했습니다.',
  'alert.leave': '{nickname}님이 퇴장했습니다.',
  'alert.rename': (a: Args) => `${a.nickname}님의 닉네임이 ${a.newNickname}${ro(String(a.newNickname))} 변경되었습니다.`,
  'alert.expire': '채팅방이 만료되었습니다.',
  'duration.hms': '{h}시간 {m}분',
  'duration.ms': '{m}분 {s}초',
  'duration.s': '{s}초',
} satisfies Record<string, Entry>;

export type Key = keyof typeof ko;

const en: Record<Key, Entry> = {
  'brand.tagline': 'Anonymous chat rooms, no sign-up — just share a link',
  'lang.switch': '한국어',
  'lang.switchLabel': '한국어로 보기',
  'home.heading': 'Open a chat room',
  'home.lead': 'Anyone with the link can join right away. Rooms disappear when they expire.',
  'home.myRooms': 'Your rooms',
  'form.title': 'Room name',
  'form.titlePlaceholder': 'e.g. Friday dinner plans',
  'form.capacity': 'Capacity',
  'form.capacityN': '{n} people',
  'form.usePassword': 'Protect with a password',
  'form.password': 'Password',
  'form.passwordPlaceholder': 'Up to 12 characters',
  'form.create': 'Open the room',
  'form.creating': 'Opening…',
  'form.titleRequired': 'Please enter a room name.',
  'form.passwordRequired': 'Please enter a password.',
  'form.tooLong': 'Up to {max} characters.',
  'enter.heading': 'Join this room?',
  'enter.capacity': 'Up to {n} people',
  'enter.online': '{n} chatting now',
  'enter.expiresIn': 'Expires in {time}',
  'enter.locked': 'This room is protected by a password.',
  'enter.password': 'Password',
  'enter.wrongPassword': 'Wrong password. Please try again.',
  'enter.submit': 'Join',
  'enter.entering': 'Joining…',
  'common.home': 'Back to home',
  'common.loading': 'Loading…',
  'common.retry': 'Try again',
  'screen.notFound.title': 'Room not found',
  'screen.notFound.text': 'Please check the address.',
  'screen.full.title': 'This room is full',
  'screen.full.text': 'There is no free place right now. Please try again later.',
  'screen.expired.title': 'This room has expired',
  'screen.expired.text': 'The chat has expired and can no longer be used.',
  'screen.error.title': 'Something went wrong',
  'screen.left.title': 'You left the room',
  'screen.left.text': 'Everyone was told you left. Entering again makes you a newcomer with a new nickname.',
  'screen.left.again': 'Enter again',
  'leave.title': 'Leave this room?',
  'leave.text': 'Everyone will see that you left, and you will no longer see this conversation.',
  'leave.confirm': 'Leave',
  'common.cancel': 'Cancel',
  'home.noMessages': 'No messages yet',
  'home.unread': '{n} unread',
  'home.roomFull': 'The room filled up while you were away',
  'home.roomUnavailable': 'Not available right now',
  'enter.full': 'There is no free place right now. You can join as soon as someone leaves.',
  'enter.fullButton': 'The room is full',
  'chat.backToRooms': 'Your rooms',
  'chat.nicknameTaken': 'Someone in this room already has that nickname: {nickname}. Please choose another.',
  'chat.unreadLine': 'New messages',
  'alert.joinSelf': 'You joined as {nickname}.',
  'alert.leaveSelf': 'You left.',
  'alert.renameSelf': 'You are now {newNickname}.',
  'when.yesterday': 'Yesterday',
  'chat.placeholder': 'Write a message',
  'chat.inputLabel': 'Message',
  'chat.send': 'Send',
  'chat.hint': 'Enter to send · Shift+Enter for a new line',
  'chat.feedLabel': 'Conversation',
  'chat.loadOlder': 'Load earlier messages',
  'chat.loadingOlder': 'Loading earlier messages…',
  'chat.beginning': 'This is where your conversation starts',
  'chat.newMessage': 'New message',
  'chat.typing1': '{a} is typing…',
  'chat.typing2': '{a} and {b} are typing…',
  'chat.typingMany': 'Several people are typing…',
  'chat.copyLink': 'Copy link',
  'chat.copied': 'Link copied',
  'chat.copyFailed': 'Could not copy. Please copy the address yourself.',
  'chat.menu': 'Room menu',
  'chat.closeMenu': 'Close menu',
  'chat.shareTitle': 'Invite your friends',
  'chat.shareText': 'Anyone with this link can join.',
  'chat.roomUrl': 'Room address',
  'chat.nickname': 'Your nickname',
  'chat.changeNickname': 'Change',
  'chat.nicknameChanged': 'Nickname changed',
  'chat.online': 'People here',
  'chat.me': 'you',
  'chat.expiresAt': 'Expires at',
  'chat.remaining': '{time} left',
  'chat.remainingLabel': 'Time until the room expires',
  'chat.expiring': 'Expiring',
  'chat.leave': 'Leave the room',
  'chat.sendFailed': 'The message could not be sent.',
  'chat.offline': 'You are offline. Send again once reconnected.',
  'chat.tooLong': 'Messages can be up to {max} characters.',
  'chat.you': 'You',
  'status.connected': 'Connected',
  'status.connecting': 'Connecting…',
  'status.reconnecting': 'Connection lost. Reconnecting…',
  'status.disconnected': 'Disconnected',
  'status.reconnect': 'Reconnect',
  'status.short.connected': 'Online',
  'status.short.connecting': 'Connecting…',
  'status.short.reconnecting': 'Reconnecting…',
  'status.short.disconnected': 'Offline',
  'alert.join': '{nickname} joined.',
  'alert.leave': '{nickname} left.',
  'alert.rename': '{nickname} is now {newNickname}.',
  'alert.expire': 'This room has expired.',
  'duration.hms': '{h} h {m} min',
  'duration.ms': '{m} min {s} s',
  'duration.s': '{s} s',
};

const dictionaries: Record<Lang, Record<Key, Entry>> = { ko, en };
const LANG_KEY = 'colachat:lang';

export function detectLang(stored: string | null, browser: readonly string[]): Lang {
  if (stored === 'ko' || stored === 'en') return stored;
  for (const tag of browser) {
    const base = tag.toLowerCase().split('-')[0];
    if (base === 'ko') return 'ko';
    if (base === 'en') return 'en';
  }
  return 'ko';
}

/** The current language and the operations that depend on it. */
export class I18n {
  lang: Lang;
  private listeners = new Set<() => void>();

  constructor() {
    let stored: string | null = null;
    try {
      stored = localStorage.getItem(LANG_KEY);
    } catch {
      // Private mode without storage: fall back to the browser language.
    }
    this.lang = detectLang(stored, navigator.languages ?? [navigator.language]);
    document.documentElement.lang = this.lang;
  }

  t(key: Key, args: Args = {}): string {
    const entry = dictionaries[this.lang][key];
    if (typeof entry === 'function') return entry(args);
    return entry.replace(/\{(\w+)\}/g, (_, name: string) => (name in args ? String(args[name]) : `{${name}}`));
  }

  /** Sets el's text to key and keeps it translated. */
  text<E extends Element>(el: E, key: Key, args?: Args): E {
    (el as unknown as HTMLElement).dataset.t = key;
    if (args) (el as unknown as HTMLElement).dataset.ta = JSON.stringify(args);
    else delete (el as unknown as HTMLElement).dataset.ta;
    el.textContent = this.t(key, args);
    return el;
  }

  /** Sets an attribute (placeholder, aria-label, title) to key and keeps it translated. */
  attr<E extends Element>(el: E, name: string, key: Key, args?: Args): E {
    const ds = (el as unknown as HTMLElement).dataset;
    const list: Array<[string, Key, Args | undefined]> = ds.tattr ? JSON.parse(ds.tattr) : [];
    const next = list.filter(([n]) => n !== name);
    next.push([name, key, args]);
    ds.tattr = JSON.stringify(next);
    el.setAttribute(name, this.t(key, args));
    return el;
  }

  set(lang: Lang): void {
    if (lang === this.lang) return;
    this.lang = lang;
    document.documentElement.lang = lang;
    try {
      localStorage.setItem(LANG_KEY, lang);
    } catch {
      // Not persisted; the switch still applies to this page.
    }
    for (const el of document.querySelectorAll<HTMLElement>('[data-t]')) {
      el.textContent = this.t(el.dataset.t as Key, el.dataset.ta ? JSON.parse(el.dataset.ta) : undefined);
    }
    for (const el of document.querySelectorAll<HTMLElement>('[data-tattr]')) {
      for (const [name, key, args] of JSON.parse(el.dataset.tattr!) as Array<[string, Key, Args | undefined]>) {
        el.setAttribute(name, this.t(key, args));
      }
    }
    for (const fn of this.listeners) fn();
  }

  /** Runs fn after every language switch; returns the unsubscribe function. */
  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  time(iso: string): string {
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return '';
    return new Intl.DateTimeFormat(this.lang, { hour: 'numeric', minute: '2-digit' }).format(d);
  }

  /** A date line: "2026년 1월 2일 금요일", "Friday, January 2, 2026". */
  day(iso: string): string {
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return '';
    return new Intl.DateTimeFormat(this.lang, { dateStyle: 'full' }).format(d);
  }

  /** When, in a list: the time today, "yesterday", else the date. */
  shortWhen(iso: string, now = new Date()): string {
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return '';
    const days = Math.round(
      (new Date(now.getFullYear(), now.getMonth(), now.getDate()).getTime() -
        new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime()) /
        86400000,
    );
    if (days === 0) return this.time(iso);
    if (days === 1) return this.t('when.yesterday');
    return new Intl.DateTimeFormat(this.lang, { month: 'short', day: 'numeric' }).format(d);
  }

  dateTime(iso: string): string {
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return '';
    return new Intl.DateTimeFormat(this.lang, { dateStyle: 'medium', timeStyle: 'short' }).format(d);
  }

  /** A remaining duration in words: "3시간 12분", "4 min 05 s". */
  duration(ms: number): string {
    const total = Math.max(0, Math.floor(ms / 1000));
    const h = Math.floor(total / 3600);
    const m = Math.floor((total % 3600) / 60);
    const s = total % 60;
    if (h > 0) return this.t('duration.hms', { h, m });
    if (m > 0) return this.t('duration.ms', { m, s: String(s).padStart(2, '0') });
    return this.t('duration.s', { s });
  }
}
