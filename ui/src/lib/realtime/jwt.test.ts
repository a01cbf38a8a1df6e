import { describe, expect, it } from "vitest";
import { jwtClaimsText } from "./jwt";

const b64url = (s: string) => btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const token = (payload: string) => `${b64url('{"alg":"HS256","typ":"JWT"}')}.${b64url(payload)}.sig`;

describe("jwtClaimsText", () => {
  it("shows a valid token's claims as compact JSON", () => {
    expect(jwtClaimsText(token('{ "role": "anon",  "iss": "supalove" }'))).toBe('{"role":"anon","iss":"supalove"}');
  });
  it("reads base64url (- and _) without padding", () => {
    // "?>" and "~~~" encode to "/" and "+" in plain base64.
    const payload = '{"s":"??>","t":"~~~"}';
    expect(b64url(payload)).toMatch(/[-_]/);
    expect(jwtClaimsText(token(payload))).toBe(payload);
    for (const pad of ["a", "ab", "abc"]) expect(jwtClaimsText(token(`{"k":"${pad}"}`))).toBe(`{"k":"${pad}"}`);
  });
  it("keeps exp (and every other claim) as it is, expired or not", () => {
    expect(jwtClaimsText(token('{"role":"authenticated","exp":1}'))).toBe('{"role":"authenticated","exp":1}');
  });
  it("gives nothing without a token", () => {
    expect(jwtClaimsText(null)).toBe("");
    expect(jwtClaimsText(undefined)).toBe("");
    expect(jwtClaimsText("")).toBe("");
  });
  it("gives nothing for a token without a payload part", () => {
    expect(jwtClaimsText("not-a-jwt")).toBe("");
  });
  it("does not insist on three parts: the payload is the second", () => {
    expect(jwtClaimsText(`head.${b64url('{"a":1}')}`)).toBe('{"a":1}');
    expect(jwtClaimsText(`head.${b64url('{"a":1}')}.sig.extra`)).toBe('{"a":1}');
  });
  it("gives nothing for a payload that is not base64", () => {
    expect(jwtClaimsText("head.%%%.sig")).toBe("");
    expect(jwtClaimsText("head.a.sig")).toBe("");
  });
  it("gives nothing for a payload that is not JSON", () => {
    expect(jwtClaimsText(token("role=anon"))).toBe("");
    expect(jwtClaimsText("head..sig")).toBe("");
  });
  it("shows a payload that is JSON but not an object as it is", () => {
    expect(jwtClaimsText(token("42"))).toBe("42");
  });
});
