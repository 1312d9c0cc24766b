// Lint rules for the SPA: the recommended JavaScript and type-aware TypeScript sets, the React
// hooks rules (effects and memos that miss a dependency are the bugs tsc cannot see), and the
// import boundaries: shared -> features -> app, one way, and no feature imports another.
import { readdirSync } from "node:fs";
import path from "node:path";
import js from "@eslint/js";
import { createNodeResolver, importX } from "eslint-plugin-import-x";
import reactHooks from "eslint-plugin-react-hooks";
import globals from "globals";
import tseslint from "typescript-eslint";

// Every folder under src/features is a feature, so a new one is fenced in the day it lands.
const features = readdirSync(path.join(import.meta.dirname, "src/features"), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name);

const FEATURE_ALONE =
  "A feature never imports another feature: move what both need into src/shared, or compose them in src/app.";

// A relative path that climbs ("../x", "./../x") leaves its folder; those imports go through "@/" (src/).
const CLIMB = String.raw`^(?:\.\.?/)*\.\.(?:/|$)`;
const CLIMB_MESSAGE = 'Import from outside this folder through the "@/" alias (src/), such as "@/shared/api/problem".';

export default tseslint.config(
  { ignores: ["dist", "src/shared/api/schema.d.ts", "public"] },
  {
    files: ["**/*.{ts,tsx}"],
    extends: [js.configs.recommended, ...tseslint.configs.recommendedTypeChecked, reactHooks.configs.flat.recommended],
    languageOptions: {
      ecmaVersion: 2023,
      globals: globals.browser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
  },
  {
    files: ["src/**/*.{ts,tsx}"],
    plugins: { "import-x": importX },
    settings: {
      // Resolves "@/" through tsconfig.app.json's paths, so the zones below see real files.
      "import-x/resolver-next": [
        createNodeResolver({
          extensions: [".ts", ".tsx", ".d.ts", ".js", ".json"],
          tsconfig: { configFile: path.join(import.meta.dirname, "tsconfig.app.json") },
        }),
      ],
    },
    rules: {
      "import-x/no-restricted-paths": [
        "error",
        {
          basePath: import.meta.dirname,
          zones: [
            {
              target: ["./src/shared", "./src/test"],
              from: ["./src/features", "./src/app"],
              message:
                "src/shared and src/test import neither features nor the app: dependencies go shared -> features -> app.",
            },
            {
              target: "./src/features",
              from: "./src/app",
              message: "A feature never imports the app: dependencies go shared -> features -> app.",
            },
            ...features.map((feature) => ({
              target: `./src/features/${feature}`,
              from: "./src/features",
              except: [`./${feature}`],
              message: FEATURE_ALONE,
            })),
          ],
        },
      ],
      "no-restricted-imports": ["error", { patterns: [{ regex: CLIMB, message: CLIMB_MESSAGE }] }],
      "no-restricted-syntax": [
        "error",
        {
          // esquery regexes cannot hold "/": spell it \u002f. Covers import("...") and vi.mock("...").
          selector: `:matches(ImportExpression > Literal.source, CallExpression[callee.object.name="vi"] > Literal:first-child)[value=/${CLIMB.replaceAll("/", "\\u002f")}/]`,
          message: CLIMB_MESSAGE,
        },
      ],
    },
  },
);
