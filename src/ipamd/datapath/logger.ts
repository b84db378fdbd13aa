/** The slice of a pino logger the datapath uses; pino's Logger satisfies it. */
export interface DatapathLogger {
  debug(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}
