// @ts-check
import js from "@eslint/js"
import tseslint from "typescript-eslint"

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "python/**", "coverage/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
      "no-restricted-imports": ["error", {
        patterns: [{ group: ["**/internal/**"], message: "internal modules are not public" }]
      }]
    }
  },
  {
    files: ["src/machines/**"],
    rules: {
      "no-restricted-imports": ["error", {
        patterns: [{ group: ["../actors/*", "../supervisors/*", "../pool/*", "../store/*", "execa", "node:*"], message: "machines are pure: xstate only" }]
      }]
    }
  },
  {
    files: ["src/protocol/**"],
    rules: {
      "no-restricted-imports": ["error", {
        patterns: [{ group: ["../*"], message: "protocol imports nothing of ours" }]
      }]
    }
  }
)
