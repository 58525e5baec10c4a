// SQL text of our own: values from requests are always bound parameters, never spliced.

/** A ClickHouse string literal for constant text of our own (a type name, a message), never request data. */
export const sqlString = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`
