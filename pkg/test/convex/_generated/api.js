/* Hand-written stand-in for `npx convex codegen` output: the same runtime values. */
import { anyApi, componentsGeneric } from "convex/server";
export const api = anyApi;
export const internal = anyApi;
export const components = componentsGeneric();
