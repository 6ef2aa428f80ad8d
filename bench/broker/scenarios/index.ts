import type { Options, ScenarioName } from '../options.js'
import type { Scenario } from './common.js'
import { fanIn, fanOut } from './gated.js'
import { idle } from './idle.js'
import { latency } from './latency.js'
import { qos1 } from './qos1.js'

/** The selected scenarios in run order; `idle` becomes one scenario per connection count. */
export function selectScenarios(opts: Options): Scenario[] {
  const fixed: Record<Exclude<ScenarioName, 'idle'>, Scenario> = {
    'fan-in': fanIn,
    'fan-out': fanOut,
    qos1,
    latency,
  }
  return opts.scenarios.flatMap((name) => (name === 'idle' ? opts.idleCounts.map(idle) : [fixed[name]]))
}
