// siwe.ts: the Sign-In with Ethereum message (EIP-4361), written exactly
// as the `siwe` npm package writes it (SPEC §11.1), from the hub's nonce.
export interface NonceAnswer {
  nonce: string;
  expires: string;
  domain: string;
  uri: string;
  chain_id: number;
  statement: string;
}

export function siweMessage(n: NonceAnswer, address: string, now: Date): string {
  const exp = new Date(Math.min(Date.parse(n.expires), now.getTime() + 5 * 60 * 1000));
  const lines = [
    `${n.domain} wants you to sign in with your Ethereum account:`,
    address,
    "",
    n.statement,
    "",
    `URI: ${n.uri}`,
    "Version: 1",
    `Chain ID: ${n.chain_id}`,
    `Nonce: ${n.nonce}`,
    `Issued At: ${now.toISOString()}`,
    `Expiration Time: ${exp.toISOString()}`,
  ];
  if (!n.statement) lines.splice(3, 2); // no statement: the address, then an empty line (three line feeds)
  return lines.join("\n");
}
