package main

// The known causes of missed targets, printed under the profile that shows
// them. Each is shown only when its target is missed in the run.

const whyWaiterBytes = `TODO`

const whyWaiterBytesCtx = `TODO`

const whyCancel = `TODO`

const whyLockTime = `TODO`

const whyLockAllocs = `TODO`

const whyContended = `TODO`

const whyLatchTime = `TODO`

const whyLatchAllocs = `TODO`
