/** Workflow bundle entry: every workflow the worker runs. */
export { employeeSyncWorkflow } from './employee-sync';
