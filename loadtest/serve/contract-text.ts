import { RandomStream } from '../../src/random/random-stream.js';

/**
 * Generated contract-like English: the bulk "summarise thousands of contracts" workload of the
 * product brief, without shipping real contracts. Numbered sections built from clause templates
 * whose parties, sums, periods and places are drawn from a seeded stream, so a seed always gives
 * the same text and different seeds give different contracts of the same style.
 */

const COMPANIES = ['Northwind Logistics Ltd', 'Fabrikam Components GmbH', 'Contoso Analytics Inc', 'Tailspin Aerostructures SA', 'Wide World Importers LLC', 'Litware Health BV', 'Adventure Works Retail plc', 'Proseware Systems Oy', 'Woodgrove Capital AG', 'Alpine Ski House AB'];
const CITIES = ['London', 'Frankfurt', 'Amsterdam', 'Helsinki', 'Zurich', 'Dublin', 'Stockholm', 'Lyon', 'Milan', 'Vienna'];
const SUBJECTS = ['logistics and warehousing services', 'software maintenance and support', 'supply of machined aluminium parts', 'data analytics consulting', 'cloud hosting of the Customer Platform', 'clinical data management services', 'facility cleaning and security', 'translation and localisation services'];
const LAWS = ['England and Wales', 'Germany', 'the Netherlands', 'Finland', 'Switzerland', 'Ireland', 'Sweden', 'France'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** The values one contract's clauses share. */
interface Terms {
  supplier: string;
  customer: string;
  city: string;
  subject: string;
  law: string;
  fee: string;
  date: string;
  years: number;
  noticeDays: number;
  paymentDays: number;
  capMultiple: number;
}

type Clause = (t: Terms, pick: Picker) => string;

interface Picker {
  int(low: number, high: number): number;
  one<T>(items: readonly T[]): T;
}

const CLAUSES: { title: string; text: Clause }[] = [
  {
    title: 'Definitions',
    text: (t) =>
      `In this Agreement, "Services" means the ${t.subject} described in Schedule 1; "Business Day" means a day other than a Saturday, Sunday or public holiday in ${t.city}; "Confidential Information" means all information disclosed by one party to the other, whether in writing, orally or by any other means, that is marked as confidential or would reasonably be regarded as confidential.`,
  },
  {
    title: 'Services',
    text: (t, p) =>
      `${t.supplier} shall provide the Services to ${t.customer} with the skill, care and diligence expected of a leading provider of ${t.subject}, in accordance with the service levels in Schedule ${p.int(2, 6)}, and shall assign suitably qualified personnel to the performance of the Services.`,
  },
  {
    title: 'Fees and Payment',
    text: (t, p) =>
      `In consideration of the Services, ${t.customer} shall pay ${t.supplier} an annual fee of ${t.fee}, invoiced quarterly in advance. Each undisputed invoice shall be paid within ${t.paymentDays} days of receipt. Late payments bear interest at ${p.int(2, 8)} percent per annum above the base rate of the central bank, accruing daily until payment in full.`,
  },
  {
    title: 'Term',
    text: (t) =>
      `This Agreement commences on ${t.date} and continues for an initial term of ${t.years} years, after which it renews automatically for successive periods of one year unless either party gives at least ${t.noticeDays} days' written notice of non-renewal before the end of the then current term.`,
  },
  {
    title: 'Termination',
    text: (t, p) =>
      `Either party may terminate this Agreement with immediate effect by written notice if the other party commits a material breach that is irremediable or, if remediable, is not remedied within ${p.int(14, 45)} days of written notice requiring it to be remedied, or if the other party becomes insolvent, enters into liquidation or has a receiver appointed over any of its assets.`,
  },
  {
    title: 'Confidentiality',
    text: (_t, p) =>
      `Each party shall keep the other party's Confidential Information secret, use it only to perform its obligations under this Agreement, and disclose it only to those employees, officers and advisers who need to know it, for a period of ${p.int(2, 7)} years after termination, save where disclosure is required by law or by any governmental or regulatory authority.`,
  },
  {
    title: 'Limitation of Liability',
    text: (t) =>
      `Neither party excludes liability for death or personal injury caused by negligence or for fraud. Subject to that, each party's total liability arising under or in connection with this Agreement shall not exceed ${t.capMultiple} times the fees paid in the twelve months preceding the event giving rise to the claim, and neither party is liable for loss of profits, revenue or goodwill.`,
  },
  {
    title: 'Data Protection',
    text: (t) =>
      `To the extent ${t.supplier} processes personal data on behalf of ${t.customer}, it shall do so only on documented instructions, implement appropriate technical and organisational measures against unauthorised processing, notify ${t.customer} without undue delay of any personal data breach, and delete or return all personal data at the end of the Services.`,
  },
  {
    title: 'Intellectual Property',
    text: (t) =>
      `All intellectual property rights in materials created by ${t.supplier} specifically for ${t.customer} in the course of the Services vest in ${t.customer} on creation. ${t.supplier} retains its pre-existing materials and grants ${t.customer} a non-exclusive, royalty-free licence to use them as part of the deliverables.`,
  },
  {
    title: 'Insurance',
    text: (t, p) =>
      `${t.supplier} shall maintain, with reputable insurers, professional indemnity insurance of not less than ${p.int(1, 10)} million euros per claim and public liability insurance of not less than ${p.int(2, 20)} million euros per claim, and shall produce the certificates of insurance on request.`,
  },
  {
    title: 'Force Majeure',
    text: (_t, p) =>
      `Neither party is in breach of this Agreement nor liable for delay in performing its obligations if the delay results from events beyond its reasonable control. If such an event prevents performance for more than ${p.int(30, 120)} consecutive days, the party not affected may terminate this Agreement by giving ${p.int(7, 30)} days' written notice.`,
  },
  {
    title: 'Assignment and Subcontracting',
    text: (t) =>
      `Neither party may assign or transfer any of its rights under this Agreement without the prior written consent of the other, such consent not to be unreasonably withheld. ${t.supplier} may subcontract the Services only with the consent of ${t.customer} and remains responsible for the acts and omissions of its subcontractors.`,
  },
  {
    title: 'Audit',
    text: (t, p) =>
      `${t.customer} may, on ${p.int(10, 30)} Business Days' notice and no more than once in any contract year, audit the records of ${t.supplier} relating to the Services and the fees charged, and ${t.supplier} shall give reasonable access to its premises, systems and personnel for that purpose.`,
  },
  {
    title: 'Governing Law and Jurisdiction',
    text: (t) =>
      `This Agreement and any dispute or claim arising out of or in connection with it shall be governed by the law of ${t.law}, and the courts of ${t.city} shall have exclusive jurisdiction to settle any such dispute or claim.`,
  },
];

/** A contract of at least `minChars` characters (sections repeat with fresh values past the templates). */
export function generateContract(seed: number, minChars: number): string {
  const random = RandomStream.fromSeed(seed);
  const pick: Picker = {
    int: (low, high) => low + Math.floor(random.nextDouble() * (high - low + 1)),
    one: (items) => items[Math.floor(random.nextDouble() * items.length)],
  };
  const supplier = pick.one(COMPANIES);
  const terms: Terms = {
    supplier,
    customer: pick.one(COMPANIES.filter((c) => c !== supplier)),
    city: pick.one(CITIES),
    subject: pick.one(SUBJECTS),
    law: pick.one(LAWS),
    fee: `${pick.int(40, 900) * 1000} euros`,
    date: `${pick.int(1, 28)} ${pick.one(MONTHS)} ${pick.int(2024, 2027)}`,
    years: pick.int(1, 5),
    noticeDays: pick.int(3, 9) * 10,
    paymentDays: pick.one([14, 30, 45, 60]),
    capMultiple: pick.int(1, 3),
  };
  const parts = [
    `MASTER SERVICES AGREEMENT\n\nThis Agreement is made on ${terms.date} between ${terms.supplier} ("Supplier") and ${terms.customer} ("Customer") for the ${terms.subject}.`,
  ];
  let length = parts[0].length;
  for (let section = 1; length < minChars; section++) {
    const clause = CLAUSES[(section - 1) % CLAUSES.length];
    const text = `${section}. ${clause.title}\n${section}.1 ${clause.text(terms, pick)}`;
    parts.push(text);
    length += text.length + 2;
  }
  return parts.join('\n\n');
}
