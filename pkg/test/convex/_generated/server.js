/* Hand-written stand-in for `npx convex codegen` output (no schema, no components): the
 * same generic builders codegen re-exports. The fixture only needs these. */
export {
  queryGeneric as query,
  mutationGeneric as mutation,
  actionGeneric as action,
  internalQueryGeneric as internalQuery,
  internalMutationGeneric as internalMutation,
  internalActionGeneric as internalAction,
} from "convex/server";
