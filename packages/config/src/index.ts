/**
 * @sluice/config: reads g3proxy-style YAML configs.
 *
 *   const cfg = await loadConfig('/etc/sluice');            // main file + includes, objects by kind
 *   registerValueParsers({ duration: parseDuration, ... });  // for `g3value: 'duration'` in schemas
 *   const validate = createValidator(directFixedSchema);     // compiled once per schema object
 *   const value = validate(obj.value, obj);                  // normalised keys, or throws ConfigError
 *
 * Every failure is a ConfigError naming file:line:column, the object, the key path and the reason;
 * `causes` holds the other errors found in the same pass, `formatConfigError` prints them all.
 */
export { ConfigError, flattenErrors, formatConfigError, displayPath, type ConfigErrorInit, type Position } from './errors.js';
export { normalizeKey, normalizeTypeName, isValidObjectName } from './names.js';
export { findMainFile, loadConfig, loadObjectFromSource, MAIN_FILE_NAMES } from './loader.js';
export { createValidator, registerValueParsers, type NormalizedValue, type ValueParser, type Validator } from './validator.js';
export {
  OBJECT_KINDS,
  MAIN_SECTIONS,
  type ObjectKind,
  type MainSection,
  type RawNode,
  type RawObject,
  type LoadedConfig,
} from './types.js';
