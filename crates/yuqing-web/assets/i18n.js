// Interface strings, Simplified Chinese first, English switchable (stored per browser).
// Pages add their own keys with `define`; a missing English string falls back to Chinese.

const zh = {
  'app.title': '舆情监测与处置',
  'nav.dashboard': '总览',
  'nav.search': '信息检索',
  'nav.events': '事件',
  'nav.plans': '监测方案',
  'nav.alerts': '预警',
  'nav.cases': '处置',
  'nav.stats': '统计考核',
  'nav.reports': '报告',
  'nav.admin': '系统',
  'nav.screen': '大屏',
  'user.logout': '退出',
  'user.password': '修改密码',
  'lang.switch': 'English',
  'login.title': '登录',
  'login.user': '账号',
  'login.password': '密码',
  'login.submit': '登录',
  'login.must_change': '首次登录请修改密码',
  'password.old': '原密码',
  'password.new': '新密码（至少 10 位）',
  'password.submit': '保存',
  'common.loading': '加载中…',
  'common.error': '出错了',
  'common.empty': '暂无数据',
  'common.more': '更多',
  'common.save': '保存',
  'common.cancel': '取消',
  'common.search': '搜索',
  'common.prev': '上一页',
  'common.next': '下一页',
  'level.general': '一般',
  'level.large': '较大',
  'level.major': '重大',
  'level.especially_major': '特别重大',
  'sentiment.positive': '正面',
  'sentiment.neutral': '中性',
  'sentiment.negative': '负面',
  'page.not_found': '页面不存在',
  'live.alert': '新预警',
};

const en = {
  'app.title': 'Public opinion monitoring and response',
  'nav.dashboard': 'Dashboard',
  'nav.search': 'Search',
  'nav.events': 'Events',
  'nav.plans': 'Plans',
  'nav.alerts': 'Alerts',
  'nav.cases': 'Cases',
  'nav.stats': 'Statistics',
  'nav.reports': 'Reports',
  'nav.admin': 'Admin',
  'nav.screen': 'Big screen',
  'user.logout': 'Log out',
  'user.password': 'Change password',
  'lang.switch': '中文',
  'login.title': 'Log in',
  'login.user': 'User',
  'login.password': 'Password',
  'login.submit': 'Log in',
  'login.must_change': 'Please change your password at first login',
  'password.old': 'Current password',
  'password.new': 'New password (10 characters or more)',
  'password.submit': 'Save',
  'common.loading': 'Loading…',
  'common.error': 'Error',
  'common.empty': 'Nothing yet',
  'common.more': 'More',
  'common.save': 'Save',
  'common.cancel': 'Cancel',
  'common.search': 'Search',
  'common.prev': 'Previous',
  'common.next': 'Next',
  'level.general': 'general',
  'level.large': 'large',
  'level.major': 'major',
  'level.especially_major': 'especially major',
  'sentiment.positive': 'positive',
  'sentiment.neutral': 'neutral',
  'sentiment.negative': 'negative',
  'page.not_found': 'Page not found',
  'live.alert': 'New alert',
};

const tables = { zh, en };

export function lang() {
  return localStorage.getItem('yuqing.lang') === 'en' ? 'en' : 'zh';
}

export function setLang(l) {
  localStorage.setItem('yuqing.lang', l === 'en' ? 'en' : 'zh');
  document.documentElement.lang = l === 'en' ? 'en' : 'zh-CN';
}

/** Adds strings: `define({ 'key': ['中文', 'English'] })`. */
export function define(entries) {
  for (const [k, [z, e]] of Object.entries(entries)) {
    zh[k] = z;
    if (e !== undefined) en[k] = e;
  }
}

/** The string for `key`, with `{name}` placeholders filled from `vars`. */
export function t(key, vars) {
  const s = tables[lang()][key] ?? zh[key] ?? key;
  if (!vars) return s;
  return s.replace(/\{(\w+)\}/g, (_, k) => (vars[k] ?? ''));
}

/** Picks the message of an API error in the current language. */
export function pick(zhText, enText) {
  return lang() === 'en' && enText ? enText : zhText;
}
