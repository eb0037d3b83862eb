// Builds the observatory's front end into the Python package, where `vigie.publish.web` serves it.
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  // Relative URLs: the bundle works under any prefix the app is mounted at (`/static/dist/`).
  base: './',
  publicDir: false,
  build: {
    outDir: '../src/vigie/publish/static/dist',
    emptyOutDir: true,
    manifest: 'manifest.json', // at the root of dist/ (a dot-folder would escape package-data globs)
    target: 'es2022',
    sourcemap: false,
    chunkSizeWarningLimit: 1100, // MapLibre GL JS alone is ~800 kB minified; it is loaded only by pages with a map
    rollupOptions: { input: 'src/main.js' },
  },
});
