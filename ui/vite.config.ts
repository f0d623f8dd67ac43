import { defineConfig } from "vitest/config";
import preact from "@preact/preset-vite";

// The webview loads ui/dist from disk: no dev server, no remote content.
export default defineConfig({
  plugins: [preact()],
  clearScreen: false,
  build: { target: "safari15", outDir: "dist", emptyOutDir: true },
  test: { environment: "happy-dom", include: ["tests/**/*.test.tsx", "tests/**/*.test.ts"] },
});
