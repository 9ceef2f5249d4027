/**
 * Synthetic commercial contracts for the batch example: each is built from its index alone (no
 * randomness), so the same count always gives the same documents. Short enough for a CPU demo,
 * long enough (150-250 words) to be worth summarizing.
 */

export interface Contract {
  id: string;
  title: string;
  text: string;
}

const KINDS = [
  { title: 'Commercial Lease Agreement', object: 'the premises at {site}', payment: 'a monthly rent of {amount}' },
  { title: 'Supply Agreement', object: 'the delivery of {goods} to {site}', payment: 'the invoiced price, {amount} per shipment' },
  { title: 'Mutual Non-Disclosure Agreement', object: 'confidential information exchanged while evaluating a joint venture', payment: 'no fee; each party bears its own costs up to {amount}' },
  { title: 'Software Services Agreement', object: 'hosting and support of the {goods} platform', payment: 'a quarterly fee of {amount}' },
  { title: 'Consulting Agreement', object: 'advice on the modernisation of {site}', payment: 'a daily rate of {amount}, invoiced monthly' },
] as const;
const PARTIES = ['Northwind Traders Ltd', 'Contoso Manufacturing GmbH', 'Fabrikam Logistics BV', 'Tailspin Foods SA', 'Adventure Works Inc', 'Litware Analytics AB', 'Proseware Health plc'];
const SITES = ['12 Harbour Road, Rotterdam', 'Unit 4, Riverside Park, Leeds', 'the Lyon distribution centre', '88 Kings Street, Manchester', 'the Gdansk warehouse'];
const GOODS = ['industrial fasteners', 'frozen produce', 'replacement turbine parts', 'CloudLedger', 'medical gloves'];
const LAWS = ['England and Wales', 'the Netherlands', 'Sweden', 'France', 'Germany'];

const pick = <T>(items: readonly T[], i: number, stride: number): T => items[(i * stride) % items.length];

export function syntheticContract(index: number): Contract {
  const kind = pick(KINDS, index, 1);
  // Offsets of 1 to 5 out of 7: the two parties always differ.
  const first = PARTIES[(index * 3) % PARTIES.length];
  const second = PARTIES[(index * 3 + 1 + (index % 5)) % PARTIES.length];
  const fill = (template: string) =>
    template.replace('{site}', pick(SITES, index, 2)).replace('{goods}', pick(GOODS, index, 3)).replace('{amount}', `EUR ${(12 + ((index * 37) % 80)) * 1000}`);
  const months = 6 + ((index * 5) % 31);
  const notice = [30, 60, 90][index % 3];
  const cap = (2 + (index % 4)) * 100_000;
  const text = [
    `${kind.title.toUpperCase()} No. C-${2024_000 + index}`,
    `This agreement is made between ${first} (the "Provider") and ${second} (the "Client").`,
    `1. Subject. The Provider undertakes ${fill(kind.object)} for the Client.`,
    `2. Term. The agreement starts on the signature date and runs for ${months} months; it renews for successive twelve-month periods unless either party objects in writing.`,
    `3. Payment. The Client pays ${fill(kind.payment)}, within ${[14, 30, 45][index % 3]} days of invoice. Late amounts bear interest at ${2 + (index % 5)}% above the base rate.`,
    `4. Termination. Either party may terminate with ${notice} days' written notice, or at once if the other party materially breaches this agreement and fails to remedy the breach within 15 days.`,
    `5. Liability. Each party's total liability is capped at EUR ${cap.toLocaleString('en-GB')}, except for fraud, wilful misconduct and breaches of confidentiality.`,
    `6. Confidentiality. Both parties keep the terms of this agreement and all non-public information confidential for ${2 + (index % 4)} years after it ends.`,
    `7. Governing law. This agreement is governed by the laws of ${pick(LAWS, index, 2)}; disputes go to its competent courts.`,
  ].join('\n');
  return { id: `contract-${String(index + 1).padStart(4, '0')}`, title: `${kind.title} between ${first} and ${second}`, text };
}
