// Browser notifications for messages addressed to the person (mentions and replies). The
// plumbing is here; what counts as addressed is decided by addressedTo, which knows no
// mention or reply yet because messages do not carry them yet. The permission is asked for
// when that feature lands, from a control beside it: asking now would promise notifications
// that never come.

import type { Chatter, Message } from './types';

/**
 * Whether m is addressed to me: a mention of my nickname or a reply to one of my messages.
 * Messages have neither yet, so nothing is; this is the one place that changes when they do.
 */
export function addressedTo(_m: Message, _me: Chatter | null): boolean {
  return false;
}

export class Notifier {
  get supported(): boolean {
    return typeof Notification !== 'undefined';
  }

  get permission(): NotificationPermission {
    return this.supported ? Notification.permission : 'denied';
  }

  /** Asks for permission (call it from a click); resolves with the answer. */
  async request(): Promise<NotificationPermission> {
    if (!this.supported) return 'denied';
    if (Notification.permission !== 'default') return Notification.permission;
    return Notification.requestPermission();
  }

  /**
   * Shows a notification while the page is hidden and permission is granted; a click
   * brings the page back and runs onClick. tag folds notifications of one room together.
   */
  show(title: string, body: string, tag: string, onClick: () => void): void {
    if (this.permission !== 'granted' || document.visibilityState === 'visible') return;
    const n = new Notification(title, { body, tag });
    n.onclick = () => {
      window.focus();
      onClick();
      n.close();
    };
  }
}
