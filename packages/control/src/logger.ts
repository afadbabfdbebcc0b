/** The little the control package logs; the daemon adapts its process logger to this. */
export interface ControlLogger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
}
