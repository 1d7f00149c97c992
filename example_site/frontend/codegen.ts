// GraphQL Code Generator: types for every operation written with `graphql()` in src/, checked
// against the example site's schema (schema.graphql beside this file, written by
// `make spa-types`). The output in src/gql/ is committed; `make lint` fails when it is stale.
import type { CodegenConfig } from "@graphql-codegen/cli";

const config: CodegenConfig = {
  schema: "schema.graphql",
  documents: ["src/**/*.{ts,tsx}", "!src/gql/**/*"],
  generates: {
    "src/gql/": {
      preset: "client",
      presetConfig: {
        // components read fragment fields directly; Apollo Client's own data masking stays off too
        fragmentMasking: false,
      },
      config: {
        // what Apollo Client returns: null (not a missing key) for null fields, __typename on
        // every object but the root, and the API's two custom scalars as the strings they are
        avoidOptionals: { field: true, inputValue: false },
        nonOptionalTypename: true,
        skipTypeNameForRoot: true,
        defaultScalarType: "unknown",
        strictScalars: true,
        scalars: { UUID: "string", DateTime: "string" },
        useTypeImports: true,
      },
    },
  },
};

export default config;
