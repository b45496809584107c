import './style.css';
import { App, type View } from './app';
import { homeView } from './views/home';
import { roomView } from './views/room';
import { screenView } from './views/screens';

const root = document.getElementById('app')!;
let current: View | null = null;

function route(): void {
  current?.destroy?.();
  const path = location.pathname;
  const m = /^\/chat\/([^/]+)\/?$/.exec(path);
  if (path === '/' || path === '/index.html') current = homeView(app);
  else if (m) current = roomView(app, decodeURIComponent(m[1]));
  else current = screenView(app, 'ROOM_NOT_FOUND');
  root.replaceChildren(current.el);
  window.scrollTo(0, 0);
}

const app = new App(root, route);
window.addEventListener('popstate', route);
app.session.restore();
route();
