import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The build lands in the Go package that embeds it, so `go build` needs no Node.
// COLACHAT_WEB_OUTDIR builds elsewhere (scripts/check-build.sh compares the two).
const outDir = process.env.COLACHAT_WEB_OUTDIR || fileURLToPath(new URL('../internal/web/dist', import.meta.url));

export default defineConfig({
  base: '/',
  build: {
    outDir,
    emptyOutDir: true,
    target: 'es2020',
    sourcemap: false,
    // One small bundle: inlining tiny assets would only fight the CSP.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: true,
  },
  server: {
    // `npm run dev` talks to a colachat started on :8080.
    proxy: {
      '/chat/rooms': 'http://127.0.0.1:8080',
      '/chat/messages': 'http://127.0.0.1:8080',
      '/chat/chatters': 'http://127.0.0.1:8080',
      '/socket.io': { target: 'ws://127.0.0.1:8080', ws: true },
    },
  },
});
