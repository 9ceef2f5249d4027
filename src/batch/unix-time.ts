/** Unix seconds, the unit of every timestamp in OpenAI's file and batch objects. */
export const unixNow = () => Math.floor(Date.now() / 1000);
