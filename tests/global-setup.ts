// Once before all test files: build the dashboard if its sources changed, so that the test files
// that start `main.ts` (browser, fault, CLI) find it built instead of building it side by side.
import { ensureDashboardBuilt } from '../dashboard/index.ts'

export default async function setup(): Promise<void> {
  await ensureDashboardBuilt((line) => console.log(line))
}
