export { ConfigError, formatConfigError, displayPath, type ConfigErrorInit, type Position } from './errors.js';
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
