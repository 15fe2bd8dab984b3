// 系统: units and users (tree, add a unit, add or edit a user with role grants), the duty
// roster, the current user's API tokens, sources with health, the audit log with its
// verification, and the settings that live in the config file (channels, alert rules,
// special periods). Tabs: #/admin?tab=org|duty|tokens|sources|audit|settings.

import { h, mount, api, t, go, session, guard, toast, fmtTime, fmtNum, ApiError, pick } from '../app.js';
import { define } from '../i18n.js';

define({
  'admin.title': ['系统管理', 'Administration'],
  'admin.tab.org': ['组织与用户', 'Units and users'],
  'admin.tab.duty': ['值班表', 'Duty roster'],
  'admin.tab.tokens': ['API 令牌', 'API tokens'],
  'admin.tab.sources': ['采集源', 'Sources'],
  'admin.tab.audit': ['审计日志', 'Audit log'],
  'admin.tab.settings': ['预警渠道与规则', 'Channels and rules'],
  'admin.kind.organisation': ['单位', 'organisation'],
  'admin.kind.office': ['舆情办', 'office'],
  'admin.kind.department': ['部门', 'department'],
  'admin.role.admin': ['系统管理员', 'administrator'],
  'admin.role.leader': ['领导小组', 'leader'],
  'admin.role.analyst': ['舆情办（监测员/分析员）', 'analyst'],
  'admin.role.liaison': ['网络信息员', 'liaison'],
  'admin.role.spokesperson': ['新闻发言人', 'spokesperson'],
  'admin.tree': ['组织架构', 'Organisation'],
  'admin.add_unit': ['添加单位', 'Add a unit'],
  'admin.add_user': ['添加 / 修改用户', 'Add or edit a user'],
  'admin.id': ['编号', 'Id'],
  'admin.name': ['名称', 'Name'],
  'admin.kind': ['类型', 'Kind'],
  'admin.parent': ['上级', 'Parent'],
  'admin.no_parent': ['（无：顶级单位）', '(none: a root)'],
  'admin.user_id': ['账号', 'User id'],
  'admin.user_name': ['姓名', 'Name'],
  'admin.mobile': ['手机号（选填）', 'Mobile (optional)'],
  'admin.mobile_hint': ['填写后，钉钉、企业微信群里的预警（此人值班时）、升级提醒和催办/督办（此人为承办部门信息员时）会 @ 此人；仅管理员和本人可见。', 'With a number, alerts (while this person is first on duty), escalation notices and 催办/督办 (to a department this person is liaison of) in DingTalk and WeCom groups @ them; only administrators and the person see it.'],
  'admin.email': ['邮箱（选填）', 'E-mail (optional)'],
  'admin.email_hint': ['填写后，同样这些消息经邮件通道发出时会抄送此人；仅管理员和本人可见。', 'With an address, the same messages sent by e-mail channels copy (Cc) this person; only administrators and the person see it.'],
  'admin.feishu': ['飞书 ID（选填）', 'Feishu id (optional)'],
  'admin.feishu_hint': ['此人的飞书 open_id（ou_ 开头）或 user_id：飞书群机器人只能按它 @ 人；仅管理员和本人可见。', 'This person\'s Feishu open_id (ou_…) or user_id: Feishu group robots can @ people only by it; only administrators and the person see it.'],
  'admin.grants': ['角色授权', 'Role grants'],
  'admin.add_grant': ['+ 授权', '+ grant'],
  'admin.remove': ['移除', 'Remove'],
  'admin.edit': ['编辑', 'Edit'],
  'admin.saved': ['已保存', 'Saved'],
  'admin.password_hint': ['保存用户后，点“重置密码”生成一次性密码交给本人（也可在服务器上执行 yuqing user passwd <账号>）', 'After saving a user, “Reset password” makes a one-time password to hand over (or run yuqing user passwd <user> on the server)'],
  'admin.reset_password': ['重置密码', 'Reset password'],
  'admin.reset_confirm': ['确认重置 {user} 的密码？其现有登录将全部退出。', 'Reset the password of {user}? Their sessions will all end.'],
  'admin.reset_do': ['确认重置', 'Reset now'],
  'admin.reset_once': ['{user} 的一次性密码（只显示这一次，请当面或通过安全渠道告知本人；首次登录须修改）：', 'One-time password of {user} (shown only this once; hand it over safely; it must be changed at the first login):'],
  'admin.no_users': ['（无用户）', '(no users)'],
  'admin.unassigned': ['没有授权的用户', 'Users without grants'],
  'admin.duty.now': ['当前值班', 'On duty now'],
  'admin.duty.list': ['未来 14 天', 'Next 14 days'],
  'admin.duty.add': ['添加值班', 'Add a duty slot'],
  'admin.duty.unit': ['单位', 'Unit'],
  'admin.duty.user': ['值班人', 'Person'],
  'admin.duty.from': ['开始（北京时间）', 'Starts (Beijing time)'],
  'admin.duty.to': ['结束（北京时间）', 'Ends (Beijing time)'],
  'admin.duty.position': ['顺位', 'Position'],
  'admin.duty.note': ['备注', 'Note'],
  'admin.duty.nobody': ['当前无人值班（升级提醒按配置文件 [alerts.escalation] duty）', 'Nobody on the roster now ([alerts.escalation] duty of the config file applies)'],
  'admin.delete': ['删除', 'Delete'],
  'admin.tokens.name': ['用途', 'Name'],
  'admin.tokens.created': ['创建', 'Created'],
  'admin.tokens.used': ['最近使用', 'Last used'],
  'admin.tokens.revoked': ['已吊销', 'Revoked'],
  'admin.tokens.revoke': ['吊销', 'Revoke'],
  'admin.tokens.new': ['新建令牌', 'New token'],
  'admin.tokens.shown_once': ['令牌只显示这一次，请立即保存：', 'The token is shown only once; keep it now:'],
  'admin.tokens.unavailable': ['此服务器未启用个人 API 令牌', 'Personal API tokens are not enabled on this server'],
  'admin.src.name': ['采集源', 'Source'],
  'admin.src.health': ['状态', 'Health'],
  'admin.src.ok': ['正常', 'ok'],
  'admin.src.failing': ['异常', 'failing'],
  'admin.src.never': ['未运行', 'not run yet'],
  'admin.src.last_poll': ['最近采集', 'Last poll'],
  'admin.src.last_success': ['最近成功', 'Last success'],
  'admin.src.last_error': ['最近错误', 'Last error'],
  'admin.src.failures': ['连续失败', 'Consecutive failures'],
  'admin.src.documents': ['文档数', 'Documents'],
  'admin.src.last_hour': ['近 1 小时', 'Last hour'],
  'admin.src.lag': ['滞后', 'Lag'],
  'admin.src.none': ['没有配置采集源（配置文件 [[sources]]）', 'No sources configured ([[sources]] in the config file)'],
  'admin.audit.verify': ['审计链校验', 'Audit chain verification'],
  'admin.audit.ok': ['校验通过：{n} 条记录，未发现篡改', 'Verified: {n} entries, no tampering found'],
  'admin.audit.bad': ['发现篡改！', 'Tampering found!'],
  'admin.audit.head': ['链头（请另行保存作为锚点）', 'Head (keep it elsewhere as an anchor)'],
  'admin.audit.anchor': ['锚点 序号:哈希', 'Anchor SEQ:HASH'],
  'admin.audit.check': ['校验', 'Verify'],
  'admin.audit.seq': ['序号', 'Seq'],
  'admin.audit.at': ['时间', 'When'],
  'admin.audit.actor': ['操作人', 'Actor'],
  'admin.audit.action': ['动作', 'Action'],
  'admin.audit.target': ['对象', 'Target'],
  'admin.audit.change': ['变更', 'Change'],
  'admin.audit.first': ['从头', 'First page'],
  'admin.set.channels': ['预警渠道', 'Alert channels'],
  'admin.set.rules': ['预警规则', 'Alert rules'],
  'admin.set.periods': ['特殊时期', 'Special periods'],
  'admin.set.in_config': ['在配置文件中设置（{keys}），修改后重启 yuqing serve。', 'Set in the config file ({keys}); restart yuqing serve after a change.'],
  'admin.set.builtin': ['内置规则（[alerts] default_rules = true 时生效）：', 'Built-in rules (with [alerts] default_rules = true):'],
  'admin.set.no_periods': ['未设置特殊时期', 'No special periods'],
  'admin.set.active': ['进行中', 'active'],
  'admin.forbidden_hint': ['（需要相应权限）', '(needs the matching role)'],
});

const TABS = ['org', 'duty', 'tokens', 'sources', 'audit', 'settings'];
const KINDS = ['organisation', 'office', 'department'];
const ROLES = ['admin', 'leader', 'analyst', 'liaison', 'spokesperson'];

const CSS = `
.tabs { display: flex; gap: 4px; border-bottom: 1px solid var(--line); margin-bottom: 12px; flex-wrap: wrap; }
.tabs a { padding: 6px 12px; border: 1px solid transparent; border-bottom: none; border-radius: 4px 4px 0 0; }
.tabs a.active { background: #fff; border-color: var(--line); color: var(--ink); font-weight: 600; }
.tree, .tree ul { list-style: none; padding-left: 18px; margin: 2px 0; }
.tree > li { padding-left: 0; }
.tree .unit-name { font-weight: 600; }
.tree .org-user { list-style: circle; margin-left: 4px; }
div[class^=admin-] > .card + .card { margin-top: 12px; }
.admin-form + h2 { margin-top: 16px; }
.admin-form { display: flex; flex-direction: column; gap: 8px; max-width: 640px; }
.admin-form .field { display: flex; flex-direction: column; gap: 2px; }
.grant-row { display: flex; gap: 6px; align-items: center; margin-bottom: 4px; }
.token-once { background: #fff8e1; border: 1px solid #e0c060; padding: 8px; border-radius: 4px; word-break: break-all; }
.verify-ok { color: var(--green); font-weight: 600; }
.verify-bad { color: var(--red); font-weight: 600; }
.pre { white-space: pre-wrap; overflow-wrap: anywhere; }
.small { font-size: 12px; }
`;

function pageStyle() {
  if (document.getElementById('style-admin')) return;
  const el = document.createElement('style');
  el.id = 'style-admin';
  el.textContent = CSS;
  document.head.appendChild(el);
}

function field(label, input) {
  return h('label', { class: 'field' }, h('span', {}, label), input);
}

function bjLocal(ms) {
  return new Date(ms + 8 * 3600000).toISOString().slice(0, 16);
}

function fromBjLocal(v) {
  return v ? `${v}:00+08:00` : null;
}

function isAdmin() {
  return (session.me?.roles || []).some((r) => r.role === 'admin');
}

export default async function (root, _params, query) {
  pageStyle();
  const tab = TABS.includes(query.tab) ? query.tab : 'org';
  const body = h('div', { class: `admin-${tab}` }, h('p', { class: 'muted' }, t('common.loading')));
  mount(root,
    h('h1', {}, t('admin.title')),
    h('nav', { class: 'tabs' }, TABS.map((x) => h('a', { href: `#/admin?tab=${x}`, class: x === tab ? 'active' : '' }, t(`admin.tab.${x}`)))),
    body);
  const pages = { org, duty, tokens, sources, audit, settings };
  await guard(() => pages[tab](body, query), body);
}

// ---- units and users ------------------------------------------------------------------

async function org(root) {
  const o = await api('org');
  const units = o.units || [];
  const users = o.users || [];
  const children = new Map();
  for (const u of units) {
    const p = u.parent && units.some((x) => x.id === u.parent) ? u.parent : '';
    if (!children.has(p)) children.set(p, []);
    children.get(p).push(u);
  }
  const usersAt = (unit) => users.filter((u) => (u.grants || []).some((g) => g.unit === unit));
  const userForm = h('div');
  const roleText = (u, unit) => (u.grants || []).filter((g) => g.unit === unit).map((g) => t(`admin.role.${g.role}`)).join('、');
  const node = (u, depth = 0) => h('li', { dataset: { unit: u.id } },
    h('span', { class: 'unit-name' }, u.name), ' ',
    h('span', { class: 'badge' }, t(`admin.kind.${u.kind}`)), ' ',
    h('span', { class: 'muted small' }, u.id),
    h('ul', {},
      usersAt(u.id).map((x) => h('li', { class: 'org-user' }, x.name, ' ', h('span', { class: 'muted small' }, `${x.id} · ${roleText(x, u.id)}`), ' ',
        h('button', { class: 'link', onclick: () => drawUserForm(x) }, t('admin.edit')))),
      depth < 32 ? (children.get(u.id) || []).map((c) => node(c, depth + 1)) : null));
  const loose = users.filter((u) => !(u.grants || []).length);

  // Add a unit.
  const uid = h('input', { name: 'id', required: true });
  const uname = h('input', { name: 'name', required: true });
  const ukind = h('select', { name: 'kind' }, KINDS.map((k) => h('option', { value: k }, t(`admin.kind.${k}`))));
  const uparent = h('select', { name: 'parent' }, h('option', { value: '' }, t('admin.no_parent')), units.map((u) => h('option', { value: u.id }, `${u.name}（${u.id}）`)));
  const unitForm = h('form', {
    class: 'admin-form',
    onsubmit: async (e) => {
      e.preventDefault();
      const unit = { id: uid.value.trim(), name: uname.value.trim(), kind: ukind.value, parent: uparent.value || null };
      if (await guard(() => api('org', { method: 'PUT', body: { units: [unit], users: [] } }))) {
        toast(t('admin.saved'));
        go('/admin', { tab: 'org', t: Date.now() });
      }
    },
  }, field(t('admin.id'), uid), field(t('admin.name'), uname), field(t('admin.kind'), ukind), field(t('admin.parent'), uparent),
  h('div', {}, h('button', { class: 'primary', type: 'submit' }, t('admin.add_unit'))));

  function drawUserForm(existing) {
    const id = h('input', { name: 'user', required: true, value: existing?.id || '', readonly: existing ? true : undefined });
    const name = h('input', { name: 'name', required: true, value: existing?.name || '' });
    const mobile = h('input', { name: 'mobile', type: 'tel', inputmode: 'tel', pattern: '\\+?[0-9]{6,20}', value: existing?.mobile || '' });
    const email = h('input', { name: 'email', type: 'email', value: existing?.email || '' });
    const feishu = h('input', { name: 'feishu', pattern: '[A-Za-z0-9_\\-]{1,64}', value: existing?.feishu || '' });
    const grants = h('div');
    const addGrant = (g) => {
      const unit = h('select', { name: 'grant-unit' }, units.map((u) => h('option', { value: u.id, selected: g?.unit === u.id }, `${u.name}（${u.id}）`)));
      const role = h('select', { name: 'grant-role' }, ROLES.map((r) => h('option', { value: r, selected: g?.role === r }, t(`admin.role.${r}`))));
      const row = h('div', { class: 'grant-row' }, unit, role, h('button', { type: 'button', class: 'link', onclick: () => row.remove() }, t('admin.remove')));
      grants.append(row);
    };
    (existing?.grants || []).forEach(addGrant);
    if (!existing) addGrant();
    mount(userForm, h('form', {
      class: 'admin-form',
      onsubmit: async (e) => {
        e.preventDefault();
        const user = {
          id: id.value.trim(),
          name: name.value.trim(),
          mobile: mobile.value.trim() || null,
          email: email.value.trim() || null,
          feishu: feishu.value.trim() || null,
          grants: [...grants.querySelectorAll('.grant-row')].map((r) => ({
            unit: r.querySelector('[name=grant-unit]').value,
            role: r.querySelector('[name=grant-role]').value,
          })),
        };
        if (await guard(() => api('org', { method: 'PUT', body: { units: [], users: [user] } }))) {
          toast(t('admin.saved'));
          go('/admin', { tab: 'org', t: Date.now() });
        }
      },
    },
    field(t('admin.user_id'), id), field(t('admin.user_name'), name), field(t('admin.mobile'), mobile),
    h('p', { class: 'muted small' }, t('admin.mobile_hint')),
    field(t('admin.email'), email),
    h('p', { class: 'muted small' }, t('admin.email_hint')),
    field(t('admin.feishu'), feishu),
    h('p', { class: 'muted small' }, t('admin.feishu_hint')),
    h('div', { class: 'field' }, h('span', {}, t('admin.grants')), grants,
      h('div', {}, h('button', { type: 'button', class: 'link', onclick: () => addGrant() }, t('admin.add_grant')))),
    h('p', { class: 'muted small' }, t('admin.password_hint')),
    h('div', {}, h('button', { class: 'primary', type: 'submit' }, t('common.save')),
      existing ? h('button', { type: 'button', onclick: () => drawUserForm() }, t('common.cancel')) : null),
    existing && isAdmin() ? resetPassword(existing) : null));
    userForm.scrollIntoView?.({ block: 'nearest' });
  }
  drawUserForm();

  mount(root, h('div', { class: 'grid' },
    h('div', { class: 'card span-6' },
      h('h2', {}, t('admin.tree')),
      units.length ? h('ul', { class: 'tree' }, (children.get('') || []).map((u) => node(u))) : h('p', { class: 'muted' }, t('common.empty')),
      loose.length ? [h('h2', {}, t('admin.unassigned')),
        h('ul', {}, loose.map((x) => h('li', {}, x.name, ' ', h('span', { class: 'muted small' }, x.id), ' ',
          h('button', { class: 'link', onclick: () => drawUserForm(x) }, t('admin.edit')))))] : null),
    h('div', { class: 'card span-6' },
      isAdmin() ? null : h('p', { class: 'muted' }, t('admin.forbidden_hint')),
      h('h2', {}, t('admin.add_user')), userForm,
      h('h2', {}, t('admin.add_unit')), unitForm)));
}

/**
 * The administrator's "reset password" control for one user: a confirmation, then the
 * one-time password from POST /api/v1/users/{id}/password-reset, shown once as text and
 * never kept by the page.
 */
function resetPassword(user) {
  const box = h('div', { class: 'reset-password' });
  const start = () => mount(box, h('button', { type: 'button', class: 'danger', name: 'reset-password', onclick: confirm }, t('admin.reset_password')));
  const confirm = () => mount(box,
    h('span', {}, t('admin.reset_confirm', { user: `${user.name}（${user.id}）` })), ' ',
    h('button', {
      type: 'button',
      class: 'danger',
      name: 'reset-confirm',
      onclick: async (e) => {
        e.target.disabled = true;
        const r = await guard(() => api(`users/${encodeURIComponent(user.id)}/password-reset`, { method: 'POST' }));
        if (!r) { e.target.disabled = false; return; }
        mount(box, h('div', { class: 'token-once' },
          t('admin.reset_once', { user: `${user.name}（${user.id}）` }), ' ',
          h('code', { class: 'one-time-password' }, r.password)));
      },
    }, t('admin.reset_do')), ' ',
    h('button', { type: 'button', onclick: start }, t('common.cancel')));
  start();
  return box;
}

// ---- duty roster ----------------------------------------------------------------------

async function duty(root) {
  const now = Date.now();
  const [current, list, o] = await Promise.all([
    api('duty', { query: { at: new Date(now).toISOString() } }),
    api('duty', { query: { from: new Date(now - 86400000).toISOString(), to: new Date(now + 14 * 86400000).toISOString() } }),
    api('org').catch(() => ({ units: [], users: [] })),
  ]);
  const unitName = new Map((o.units || []).map((u) => [u.id, u.name]));
  const userName = new Map((o.users || []).map((u) => [u.id, u.name]));
  const person = (id) => (userName.get(id) ? `${userName.get(id)}（${id}）` : id);
  const table = (slots, del) => (slots.length ? h('table', {},
    h('thead', {}, h('tr', {}, [t('admin.duty.unit'), t('admin.duty.user'), t('admin.duty.from'), t('admin.duty.to'), t('admin.duty.position'), t('admin.duty.note'), ''].map((x) => h('th', {}, x)))),
    h('tbody', {}, slots.map((s) => h('tr', {},
      h('td', {}, unitName.get(s.unit) || s.unit), h('td', {}, person(s.user)),
      h('td', {}, fmtTime(s.starts_at)), h('td', {}, fmtTime(s.ends_at)),
      h('td', {}, s.position), h('td', {}, s.note || ''),
      h('td', {}, del ? h('button', {
        class: 'link',
        onclick: async () => {
          if (await guard(() => api(`duty/${s.id}`, { method: 'DELETE' }))) {
            toast(t('admin.saved'));
            duty(root);
          }
        },
      }, t('admin.delete')) : null)))))
    : null);

  const unit = h('select', { name: 'unit' }, (o.units || []).map((u) => h('option', { value: u.id }, u.name)));
  const user = h('select', { name: 'user' }, (o.users || []).map((u) => h('option', { value: u.id }, `${u.name}（${u.id}）`)));
  const from = h('input', { type: 'datetime-local', name: 'starts_at', required: true, value: bjLocal(now) });
  const to = h('input', { type: 'datetime-local', name: 'ends_at', required: true, value: bjLocal(now + 8 * 3600000) });
  const pos = h('input', { type: 'number', name: 'position', min: 0, value: '0' });
  const note = h('input', { name: 'note' });
  const form = h('form', {
    class: 'admin-form',
    onsubmit: async (e) => {
      e.preventDefault();
      const slot = { unit: unit.value, user: user.value, starts_at: fromBjLocal(from.value), ends_at: fromBjLocal(to.value), position: Number(pos.value) || 0, note: note.value };
      if (await guard(() => api('duty', { method: 'POST', body: slot }))) {
        toast(t('admin.saved'));
        duty(root);
      }
    },
  }, field(t('admin.duty.unit'), unit), field(t('admin.duty.user'), user), field(t('admin.duty.from'), from), field(t('admin.duty.to'), to),
  field(t('admin.duty.position'), pos), field(t('admin.duty.note'), note),
  h('div', {}, h('button', { class: 'primary', type: 'submit' }, t('admin.duty.add'))));

  mount(root, h('div', { class: 'grid' },
    h('div', { class: 'card span-12' }, h('h2', {}, t('admin.duty.now')),
      table(current.duty || [], false) || h('p', { class: 'muted' }, t('admin.duty.nobody'))),
    h('div', { class: 'card span-8' }, h('h2', {}, t('admin.duty.list')),
      table(list.duty || [], true) || h('p', { class: 'muted' }, t('common.empty'))),
    h('div', { class: 'card span-4' }, h('h2', {}, t('admin.duty.add')), form)));
}

// ---- API tokens -----------------------------------------------------------------------

async function tokens(root) {
  let data;
  try {
    data = await api('tokens');
  } catch (e) {
    if (e instanceof ApiError && (e.status === 404 || e.status === 503)) {
      mount(root, h('p', { class: 'muted' }, t('admin.tokens.unavailable')));
      return;
    }
    throw e;
  }
  const once = h('div');
  const name = h('input', { name: 'name', required: true });
  const list = data.tokens || [];
  mount(root, h('div', { class: 'card' },
    once,
    h('form', {
      class: 'row',
      onsubmit: async (e) => {
        e.preventDefault();
        const r = await guard(() => api('tokens', { method: 'POST', body: { name: name.value.trim() } }));
        if (r) {
          await tokens(root);
          // Shown once, as text; never stored by the page.
          root.prepend(h('div', { class: 'token-once' }, t('admin.tokens.shown_once'), ' ', h('code', { class: 'new-token' }, r.token)));
        }
      },
    }, field(t('admin.tokens.name'), name), h('button', { class: 'primary', type: 'submit' }, t('admin.tokens.new'))),
    list.length ? h('table', {},
      h('thead', {}, h('tr', {}, ['#', t('admin.tokens.name'), t('admin.tokens.created'), t('admin.tokens.used'), t('admin.tokens.revoked'), ''].map((x) => h('th', {}, x)))),
      h('tbody', {}, list.map((x) => h('tr', {},
        h('td', {}, x.id), h('td', {}, x.name), h('td', {}, fmtTime(x.created_at)), h('td', {}, fmtTime(x.last_used)),
        h('td', {}, x.revoked_at ? fmtTime(x.revoked_at) : '-'),
        h('td', {}, x.revoked_at ? null : h('button', {
          class: 'link',
          onclick: async () => {
            if (await guard(() => api(`tokens/${x.id}`, { method: 'DELETE' }))) tokens(root);
          },
        }, t('admin.tokens.revoke')))))))
      : h('p', { class: 'muted' }, t('common.empty'))));
}

// ---- sources --------------------------------------------------------------------------

function fmtLag(s) {
  if (s === null || s === undefined) return '-';
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 172800) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86400).toFixed(1)} d`;
}

async function sources(root) {
  const data = await api('sources');
  const list = data.sources || [];
  if (!list.length) {
    mount(root, h('p', { class: 'muted' }, t('admin.src.none')));
    return;
  }
  mount(root, h('table', { class: 'sources' },
    h('thead', {}, h('tr', {}, ['name', 'health', 'last_poll', 'last_success', 'failures', 'documents', 'last_hour', 'lag', 'last_error'].map((k) => h('th', {}, t(`admin.src.${k}`))))),
    h('tbody', {}, list.map(({ health: s, lag_seconds: lag }) => {
      const state = !s.last_poll_at ? 'never' : s.consecutive_failures > 0 ? 'failing' : 'ok';
      return h('tr', {},
        h('td', {}, s.name),
        h('td', {}, h('span', { class: `badge ${state === 'ok' ? 'sent-positive' : state === 'failing' ? 'sent-negative' : ''}` }, t(`admin.src.${state}`))),
        h('td', {}, fmtTime(s.last_poll_at)), h('td', {}, fmtTime(s.last_success_at)),
        h('td', { class: s.consecutive_failures ? 'overdue' : '' }, fmtNum(s.consecutive_failures)),
        h('td', {}, fmtNum(s.documents)), h('td', {}, fmtNum(s.documents_last_hour)), h('td', {}, fmtLag(lag)),
        h('td', { class: 'small pre' }, s.last_error ? [fmtTime(s.last_error_at), ' ', s.last_error] : '-'));
    }))));
}

// ---- audit ----------------------------------------------------------------------------

async function audit(root, query) {
  const after = Number(query.after) || 0;
  const anchor = query.anchor || '';
  const verifyBox = h('div', {}, h('p', { class: 'muted' }, t('common.loading')));
  const logBox = h('div', {}, h('p', { class: 'muted' }, t('common.loading')));
  const anchorIn = h('input', { name: 'anchor', value: anchor, size: 50, placeholder: '123:ab12…' });
  mount(root,
    h('div', { class: 'card' },
      h('h2', {}, t('admin.audit.verify')),
      h('form', { class: 'row', onsubmit: (e) => { e.preventDefault(); go('/admin', { tab: 'audit', anchor: anchorIn.value.trim() }); } },
        field(t('admin.audit.anchor'), anchorIn), h('button', { type: 'submit' }, t('admin.audit.check'))),
      verifyBox),
    h('div', { class: 'card' }, h('h2', {}, t('admin.tab.audit')), logBox));

  await guard(async () => {
    const r = await api('audit/verify', { query: { anchor: anchor || undefined } });
    mount(verifyBox,
      r.ok
        ? h('p', { class: 'verify-ok', dataset: { ok: 'true' } }, `✔ ${t('admin.audit.ok', { n: fmtNum(r.entries) })}`)
        : h('div', { class: 'verify-bad', dataset: { ok: 'false' } },
          h('p', {}, `✘ ${t('admin.audit.bad')}`),
          r.tampered ? h('p', {}, `#${r.tampered.seq} ${r.tampered.kind}：`, pick(r.tampered.message_zh || r.tampered.message, r.tampered.message_en)) : null),
      r.head ? h('p', { class: 'small' }, `${t('admin.audit.head')}：`, h('code', {}, `${r.head.seq}:${r.head.hash}`)) : null);
  }, verifyBox);

  await guard(async () => {
    const data = await api('audit', { query: { after, limit: 50 } });
    const entries = data.entries || [];
    const last = entries.length ? entries[entries.length - 1].seq : after;
    const show = (v) => (v === null || v === undefined ? '' : JSON.stringify(v, null, 1));
    mount(logBox,
      entries.length ? h('table', { class: 'audit' },
        h('thead', {}, h('tr', {}, ['seq', 'at', 'actor', 'action', 'target', 'change'].map((k) => h('th', {}, t(`admin.audit.${k}`))).concat(h('th', {}, 'hash')))),
        h('tbody', {}, entries.map((e) => h('tr', {},
          h('td', {}, e.seq), h('td', {}, fmtTime(e.at)), h('td', {}, e.actor), h('td', {}, e.action), h('td', {}, e.target),
          h('td', {}, h('details', {}, h('summary', { class: 'small' }, '…'),
            e.before ? h('div', { class: 'pre small' }, `before: ${show(e.before)}`) : null,
            e.after ? h('div', { class: 'pre small' }, `after: ${show(e.after)}`) : null)),
          h('td', {}, h('code', { class: 'small', title: e.hash }, String(e.hash).slice(0, 12)))))))
        : h('p', { class: 'muted' }, t('common.empty')),
      h('div', { class: 'row' },
        after > 0 ? h('button', { onclick: () => go('/admin', { tab: 'audit' }) }, t('admin.audit.first')) : null,
        entries.length === 50 ? h('button', { onclick: () => go('/admin', { tab: 'audit', after: last }) }, t('common.next')) : null));
  }, logBox);
}

// ---- settings from the config file ----------------------------------------------------

/** GET that answers null when the route does not exist on this server. */
async function optional(path) {
  try {
    return await api(path);
  } catch (e) {
    if (e instanceof ApiError && (e.status === 404 || e.status === 405)) return null;
    throw e;
  }
}

async function settings(root) {
  const [channels, rules, periods] = await Promise.all([optional('channels'), optional('alert-rules'), optional('special-periods')]);
  const note = (keys) => h('p', { class: 'muted' }, t('admin.set.in_config', { keys }));
  const builtin = [
    ['major_any_plan', '任一方案命中且级别≥重大', 'any plan hit and level ≥ major'],
    ['negative_behaviour', '任一条目且情感负面且内容类型为行为倾向', 'any item, negative, content type behaviour'],
    ['plan_spike', '任一方案命中且所命中方案声量突增', 'any plan hit and volume spike of a hit plan'],
  ];
  const en = pick('zh', 'en') === 'en';
  mount(root, h('div', { class: 'grid' },
    h('div', { class: 'card span-6' }, h('h2', {}, t('admin.set.channels')),
      channels?.channels ? h('table', {}, h('tbody', {}, channels.channels.map((c) => h('tr', {}, h('td', {}, c.name), h('td', {}, c.type || c.kind)))))
        : null,
      note('[[channels]]')),
    h('div', { class: 'card span-6' }, h('h2', {}, t('admin.set.rules')),
      rules?.rules
        ? h('ul', {}, rules.rules.map((r) => h('li', {}, h('b', {}, r.name), '：', en && r.describe_en ? r.describe_en : r.describe_zh)))
        : [h('p', {}, t('admin.set.builtin')), h('ul', {}, builtin.map(([n, z, e]) => h('li', {}, h('code', {}, n), '：', en ? e : z)))],
      note('[alerts], [[alert_rules]]')),
    h('div', { class: 'card span-12' }, h('h2', {}, t('admin.set.periods')),
      periods?.special_periods?.length
        ? h('table', {}, h('tbody', {}, periods.special_periods.map((p) => h('tr', {},
          h('td', {}, p.name), h('td', {}, `${p.start} — ${p.end}`),
          h('td', {}, p.active ? h('span', { class: 'badge level-major' }, t('admin.set.active')) : '')))))
        : h('p', { class: 'muted' }, t('admin.set.no_periods')),
      note('[judgement.grading] special_periods'))));
}
