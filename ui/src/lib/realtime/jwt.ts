// Reading a JWT's claims for display. No verification: the tester only shows what a token
// it was handed (or minted) carries.

/**
 * The payload of `token` as compact JSON text, or "" when there is no token or its second
 * part is not base64url-encoded JSON. The signature and the number of parts are not checked.
 */
export function jwtClaimsText(token: string | null | undefined): string {
  if (!token) return "";
  const part = token.split(".")[1];
  if (part === undefined) return "";
  try {
    const b64 = part.replace(/-/g, "+").replace(/_/g, "/");
    return JSON.stringify(JSON.parse(atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4))));
  } catch {
    return "";
  }
}
