import { Throttle } from './throttle.decorator';

/** Opts a controller or handler out of every throttle; the same as `@Throttle([])`. */
export function SkipThrottle(): ClassDecorator & MethodDecorator {
  return Throttle([]);
}
