// ESLint flat config: type-aware typescript-eslint over the whole repository (`npm run lint`).
// Type information comes from tsconfig.eslint.json (tsconfig.json plus the plain .js files). The .js apps that
// require("../dist") get celeriac's types only once `npm run build` has run (without dist/ they are `any`), so lint
// after the build for the full result.
import js from "@eslint/js";
import globals from "globals";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: [
      "dist/",
      "examples/*/dist/", // what an example's own `npx tsc` writes
      "node_modules/",
      ".tmp/",
      "docs/site/",
      "coverage/",
      "interop-tests/.venv/",
      "**/__pycache__/",
      // Captured fixtures: the golden vectors' producer scripts are kept byte-identical to where they were
      // captured (test/fixtures/vectors/SOURCE.md), so they are not linted (and never edited).
      "test/fixtures/vectors/_producers/*.js",
    ],
  },
  {
    linterOptions: { reportUnusedDisableDirectives: "error" },
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: {
        project: "./tsconfig.eslint.json",
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // Named explicitly (all are in recommendedTypeChecked too) so that they stay errors whatever the preset does.
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unsafe-assignment": "error",
      "@typescript-eslint/no-unsafe-call": "error",
      "@typescript-eslint/no-unsafe-member-access": "error",
      "@typescript-eslint/no-unsafe-return": "error",
      "@typescript-eslint/no-unsafe-argument": "error",
      // An `async` method without `await` is how a class keeps an interface's Promise contract (a throw in it
      // becomes a rejection, e.g. DisabledBackend, the rpc backend's unsupported group calls); not a defect.
      "@typescript-eslint/require-await": "off",
      // Passing on a caught value (`catch (err) { reject(err) }`, amqplib's `any` callback error) is forwarding, not
      // inventing a non-Error reason; rejecting with a literal or an object is still an error.
      "@typescript-eslint/prefer-promise-reject-errors": ["error", { allowThrowingAny: true, allowThrowingUnknown: true }],
      // An unused binding named _x is deliberate (a positional parameter, a destructured rest).
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrorsIgnorePattern: "^_", ignoreRestSiblings: true },
      ],
    },
  },
  {
    // The library reports through its Logger or a caller's callback, never straight to the console.
    files: ["src/**/*.ts"],
    rules: { "no-console": "error" },
  },
  {
    // Plain CommonJS scripts (bench, examples, the CLI-loaded apps, jest's setup files).
    files: ["**/*.js"],
    languageOptions: { sourceType: "commonjs" },
    rules: {
      // require() is how a CommonJS file imports.
      "@typescript-eslint/no-require-imports": "off",
      // Untyped JavaScript: parameters and most values are `any` to the checker, so these rules would flag
      // every use of them; the type-aware promise rules above still apply.
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-call": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-return": "off",
      "@typescript-eslint/no-unsafe-argument": "off",
    },
  },
  {
    files: ["**/*.mjs"],
    languageOptions: { sourceType: "module" },
  },
);
