/** The "trivial workflow" of bench/outbound: no activity, no timer, so its rate is the Temporal ceiling. */
export async function trivialWorkflow(): Promise<number> {
  return 1;
}
