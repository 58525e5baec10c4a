// The start page: plain HTML and a few lines of script, reading only the public API.
export const startPage = `<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tierscope · 政务服务三级体系绩效分析</title>
<style>
  body { font-family: "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif; margin: 0; color: #1f2933; background: #f5f7fa; }
  header { background: #8b1a1a; color: #fff; padding: 16px 32px; }
  header h1 { margin: 0; font-size: 22px; }
  main { max-width: 1100px; margin: 24px auto; padding: 0 24px; }
  section { background: #fff; border-radius: 6px; padding: 16px 24px; margin-bottom: 16px; box-shadow: 0 1px 2px rgba(0,0,0,.08); }
  table { border-collapse: collapse; width: 100%; font-size: 14px; }
  th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid #e4e7eb; }
  td.num { text-align: right; font-variant-numeric: tabular-nums; }
  input { width: 420px; padding: 6px; } button { padding: 6px 14px; }
  .muted { color: #616e7c; font-size: 13px; } .bad { color: #b91c1c; } .warn { color: #b45309; }
</style>
</head>
<body>
<header><h1>tierscope · 东城区政务服务三级体系绩效分析</h1></header>
<main>
<section>
  <p>区、街道、社区三级政务服务的办件、评价、投诉、排队与成本数据，按国务院法定节假日与调休安排计算工作日时限。</p>
  <p class="muted">API: <a href="/api/v1/health">/api/v1/health</a> · /api/v1/cases · /api/v1/metrics/{id} (Authorization: Bearer &lt;key&gt;)</p>
  <label>访问密钥 (key): <input id="key" placeholder="ts_… 或演示密钥 demo-inspector"></label> <button id="go">查看</button>
</section>
<section><h2>按时办结率（本年，按层级）</h2><table id="tiers"><tr><td class="muted">输入密钥后显示</td></tr></table></section>
<section><h2>在办超期件（红牌）</h2><table id="overdue"><tr><td class="muted">输入密钥后显示</td></tr></table></section>
</main>
<script>
const tierName = { 1: '区级（中心及委办局大厅）', 2: '街道政务服务大厅', 3: '社区及企业服务站' }
const esc = (s) => String(s ?? '').replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c])
async function get(path, key) {
  const r = await fetch(path, { headers: { authorization: 'Bearer ' + key } })
  const body = await r.json()
  if (!r.ok) throw new Error(body.message || r.status)
  return body
}
async function show() {
  const key = document.getElementById('key').value.trim()
  sessionStorage.setItem('tierscope-key', key)
  const tiers = document.getElementById('tiers'), overdue = document.getElementById('overdue')
  try {
    const m = await get('/api/v1/metrics/on_time_rate?by=tier', key)
    tiers.innerHTML = '<tr><th>层级</th><th>按时办结率</th><th>按时件数</th><th>有判定的办结件数</th></tr>' +
      m.rows.map((r) => '<tr><td>' + esc(tierName[r.key]) + '</td><td class="num">' + (r.value == null ? '—' : (100 * r.value).toFixed(2) + '%') +
        '</td><td class="num">' + r.numerator + '</td><td class="num">' + r.denominator + '</td></tr>').join('')
    const c = await get('/api/v1/cases?status=open&overdue=true&limit=20', key)
    overdue.innerHTML = '<tr><th>办件编号</th><th>单位</th><th>事项</th><th>受理时间</th><th>已用/时限（工作日）</th><th>超期</th></tr>' +
      c.rows.map((r) => '<tr><td>' + esc(r.case_id) + '</td><td>' + esc(r.unit_id) + '</td><td>' + esc(r.item_code) + '</td><td>' + esc(r.accepted_at) +
        '</td><td class="num">' + r.elapsed_days + ' / ' + (r.limit_days ?? '—') + '</td><td class="num bad">' + (r.days_over ?? '') + '</td></tr>').join('')
  } catch (e) {
    tiers.innerHTML = '<tr><td class="bad">' + esc(e.message) + '</td></tr>'
  }
}
document.getElementById('go').onclick = show
const saved = sessionStorage.getItem('tierscope-key'); if (saved) { document.getElementById('key').value = saved; show() }
</script>
</body>
</html>
`
