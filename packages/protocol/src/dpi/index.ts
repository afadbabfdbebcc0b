/** Protocol detection from a stream's first bytes (g3-dpi's protocols and names), as pure functions. */
export {
  DEFAULT_DETECT_LIMITS, NO, detectBitTorrent, detectDnsTcpQuery, detectFtpGreeting, detectHttpRequest, detectImapGreeting,
  detectLdapRequest, detectMqttConnect, detectNatsInfo, detectNntpGreeting, detectPop3Greeting, detectRtmpHandshake,
  detectRtspSetup, detectSmppBind, detectSmtpGreeting, detectSsh, detectStompConnect, detectTlsClientHello,
  type DetectedProtocol, type DetectLimits, type Detector, type Verdict,
} from './detectors.js';
export { inspectClientData, inspectServerData, type InspectOptions, type InspectResult } from './inspect.js';
export { PortMap, defaultClientPortMap, defaultServerPortMap, isMaybeProtocolName, type MaybeProtocol, type PortMapEntry } from './portmap.js';
