/** @strata/device: the device SDK (issue 4). */
export {}
