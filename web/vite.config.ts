import { defineConfig } from 'vite';

// The UI is built into web/dist by `npm ci` (prepare) and served by the Firewatch server.
export default defineConfig({
  root: 'web',
  base: '/',
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false },
  server: { proxy: { '/api': 'http://localhost:8080', '/v2': 'http://localhost:8080' } },
});
