import { ranksBefore, type RequestState } from './request-state.js';

/**
 * Requests kept in scheduling order (higher priority first, then earlier arrival). The
 * scheduler keeps one for waiting requests and one for running ones.
 *
 * Ordering by original arrival is what puts a preempted request back at the front of its
 * priority class: admission within a class is strictly FCFS, so everything of that class still
 * waiting arrived after it. It is also what prevents preemption livelock: victims are taken
 * from the back, so the front request of the highest class present is never a victim of KV
 * growth and always progresses.
 */
export class RequestQueue implements Iterable<RequestState> {
  // Sorted by ranksBefore. Running holds at most maxSeqs; waiting may hold thousands of batch
  // jobs, where the O(n) splice of an insert is still far below the cost of a model step.
  private readonly items: RequestState[] = [];

  get size(): number {
    return this.items.length;
  }

  /** The best-ranked request, or undefined when empty. */
  first(): RequestState | undefined {
    return this.items[0];
  }

  /** The worst-ranked request: the first preemption victim. */
  last(): RequestState | undefined {
    return this.items[this.items.length - 1];
  }

  insert(request: RequestState): void {
    let lo = 0;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ranksBefore(this.items[mid], request)) lo = mid + 1;
      else hi = mid;
    }
    this.items.splice(lo, 0, request);
  }

  /** Removes the request if present; returns whether it was. */
  remove(request: RequestState): boolean {
    const index = this.items.indexOf(request);
    if (index < 0) return false;
    this.items.splice(index, 1);
    return true;
  }

  /** Best-ranked first. Iterates a copy, so the caller may insert or remove while iterating. */
  [Symbol.iterator](): Iterator<RequestState> {
    return [...this.items][Symbol.iterator]();
  }

  /** Worst-ranked first: the order in which preemption picks victims. */
  fromBack(): RequestState[] {
    return [...this.items].reverse();
  }
}
