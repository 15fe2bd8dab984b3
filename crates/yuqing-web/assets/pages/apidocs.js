// API 文档: a readable page of /api/openapi.json (every route, its parameters, body and
// authentication), rendered here without any third-party viewer.

import { h, mount, api, t } from '../app.js';
import { define } from '../i18n.js';

define({
  'nav.apidocs': ['API 文档', 'API documentation'],
  'apidocs.intro': ['机器客户端用 API 令牌（系统 → 令牌）以 Authorization: Bearer 调用；错误格式统一。', 'Machine clients call with an API token (Admin → tokens) as Authorization: Bearer; one error format.'],
  'apidocs.params': ['参数', 'Parameters'],
  'apidocs.body': ['请求体', 'Body'],
  'apidocs.raw': ['OpenAPI 原文', 'Raw OpenAPI'],
});

export default async function (root) {
  const spec = await api('/api/openapi.json');
  const byTag = new Map();
  for (const [path, ops] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const tag = op.tags?.[0] || 'other';
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag).push({ path, method, op });
    }
  }
  mount(root,
    h('h1', {}, t('nav.apidocs')),
    h('p', { class: 'muted' }, t('apidocs.intro'), ' ', h('a', { href: '/api/openapi.json' }, t('apidocs.raw'))),
    h('p', {}, spec.info?.description || ''),
    [...byTag.entries()].map(([tag, ops]) => h('section', { class: 'card', style: { marginBottom: '12px' } },
      h('h2', {}, tag),
      h('table', {},
        h('tbody', {}, ops.map(({ path, method, op }) => h('tr', {},
          h('td', { style: { whiteSpace: 'nowrap' } }, h('code', {}, method.toUpperCase())),
          h('td', {}, h('code', {}, path)),
          h('td', {},
            op.summary,
            op.description ? h('div', { class: 'muted' }, op.description) : null,
            op.parameters?.length ? h('div', {}, `${t('apidocs.params')}: `,
              op.parameters.map((p) => h('code', { title: p.description || '' }, `${p.name}(${p.in}) `))) : null,
            op.requestBody ? h('div', {}, `${t('apidocs.body')}: `, op.requestBody.description) : null)))))))
  );
}
