// A person's name for the device behind a User-Agent string ("Firefox on Linux", "curl"),
// for the list of sessions. Only the common browsers, systems and HTTP tools are named;
// anything else is an unknown device. The order of the tests matters: Edge and Opera
// also say Chrome, Chrome also says Safari, Android also says Linux, iOS also says Mac OS X.
import { t } from '../i18n';

export interface Device {
  browser: string | null; // a browser, or a program (curl) when os is null
  os: string | null;
}

const tools: [RegExp, string][] = [
  [/^curl\//i, 'curl'],
  [/^wget\//i, 'Wget'],
  [/^OpenAI\/Python/i, 'OpenAI Python library'],
  [/^OpenAI\/JS/i, 'OpenAI JavaScript library'],
  [/^python-requests\//i, 'Python requests'],
  [/^python-httpx\//i, 'Python httpx'],
  [/^Python-urllib\//i, 'Python urllib'],
  [/^Go-http-client\//i, 'Go HTTP client'],
  [/^PostmanRuntime\//i, 'Postman'],
  [/^okhttp\//i, 'OkHttp'],
  [/^(node|undici)\b/i, 'Node.js'],
  [/^HTTPie\//i, 'HTTPie'],
];

const browsers: [RegExp, string][] = [
  [/\bEdg(e|A|iOS)?\//, 'Edge'],
  [/\b(OPR|Opera)\//, 'Opera'],
  [/\bSamsungBrowser\//, 'Samsung Internet'],
  [/\bVivaldi\//, 'Vivaldi'],
  [/\b(Firefox|FxiOS)\//, 'Firefox'],
  [/\b(Chrome|CriOS|HeadlessChrome|Chromium)\//, 'Chrome'],
  [/\bVersion\/[\d.]+.*\bSafari\//, 'Safari'],
  [/\bMobile\/\w+ Safari\//, 'Safari'],
];

const systems: [RegExp, string][] = [
  [/\b(iPhone|iPad|iPod)\b|\bCPU (iPhone )?OS \d/, 'iOS'],
  [/\bAndroid\b/, 'Android'],
  [/\bCrOS\b/, 'ChromeOS'],
  [/\bWindows\b/, 'Windows'],
  [/\bMac OS X\b|\bMacintosh\b/, 'macOS'],
  [/\bLinux\b|\bX11\b/, 'Linux'],
];

function first(list: [RegExp, string][], ua: string): string | null {
  for (const [pattern, name] of list) if (pattern.test(ua)) return name;
  return null;
}

export function parseUserAgent(userAgent: string | null | undefined): Device {
  const ua = (userAgent ?? '').trim();
  if (!ua) return { browser: null, os: null };
  const tool = first(tools, ua);
  if (tool) return { browser: tool, os: null };
  // Every browser's string starts with "Mozilla/"; other programs name themselves.
  if (!/^Mozilla\//.test(ua)) return { browser: null, os: null };
  return { browser: first(browsers, ua), os: first(systems, ua) };
}

export function describeDevice(userAgent: string | null | undefined): string {
  const { browser, os } = parseUserAgent(userAgent);
  if (browser && os) return t('settings.sessions.device', { browser, os });
  if (browser) return browser;
  if (os) return t('settings.sessions.deviceOs', { os });
  return t('settings.sessions.unknownDevice');
}
