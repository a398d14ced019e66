-- The live page's stylesheet (on top of the HTML report's) and script
-- (runner/page.lua puts both in the document, under its nonce).  No
-- inline style and no event handler anywhere: the page's policy refuses
-- them.

local _M = {}

_M.CSS = [[
header.top{display:flex;align-items:baseline;flex-wrap:wrap;gap:4px 16px;margin-bottom:6px}
.conn{display:inline-block;background:var(--fail);color:#fff;padding:2px 10px;border-radius:6px;font-weight:600}
.conn[hidden]{display:none}
details.campaign{border:1px solid var(--line);border-radius:8px;margin:14px 0;padding:8px 14px}
details.campaign>summary{cursor:pointer;font-size:16px;font-weight:600;padding:2px 0}
details.campaign>summary .id{font-weight:400;font-size:12px;margin-left:8px}
.state{font-size:11px;font-weight:600;padding:1px 8px;border-radius:9px;margin-left:8px;border:1px solid;
vertical-align:2px;text-transform:uppercase;letter-spacing:.03em}
.st-running{color:var(--run)}.st-failed,.st-needs_attention{color:var(--fail)}.st-succeeded{color:var(--ok)}
.st-pending{color:var(--muted)}.st-stopped{color:var(--other)}
.facts{margin:6px 0 4px;display:flex;flex-wrap:wrap;gap:2px 18px}.facts b{font-weight:600}
svg.bar{display:block;width:100%;height:8px;margin:6px 0 4px;border-radius:4px}svg.bar .q0{fill:var(--line)}
table.grid{margin:2px 0}table.grid th,table.grid td{padding:2px 6px;border:0;text-align:center}
table.grid th.plan{text-align:right;font-weight:600;color:var(--fg);max-width:260px;overflow:hidden;
text-overflow:ellipsis}table.grid thead th{font-size:11px;font-weight:600}table.grid .yr{text-align:left}
.task{display:inline-block;width:22px;height:22px;border-radius:5px;margin:1px;vertical-align:middle}
.cont{display:inline-block;width:22px;height:5px;border-radius:3px;margin:1px;vertical-align:middle;opacity:.55}
.s-succeeded{background:var(--ok)}.s-failed{background:var(--fail)}.s-running{background:var(--run)}
.s-pending{background:transparent;border:2px dashed var(--muted)}.cont.s-pending{border:0;background:var(--line)}
.s-unknown{background:var(--other)}
.task.s-running{animation:pulse 1.6s ease-in-out infinite}@keyframes pulse{50%{opacity:.45}}
.task.flash{outline:2px solid var(--fg);outline-offset:1px}
@media (prefers-reduced-motion:reduce){.task.s-running{animation:none}}
.legend i.task{width:11px;height:11px;border-radius:2px;animation:none}.legend i.s-pending{border-width:1px}
h3{font-size:14px;margin:14px 0 4px}.badge{white-space:nowrap}
.grid-box{display:inline-block;max-width:100%;vertical-align:top}
]]

-- The page's script: polls the fragment, puts it in place, keeps the
-- <details> a person opened or closed (by their data-key, or their place
-- under the nearest element that has one), and never throws.  For tests
-- it keeps, on <html>: data-ready (it ran), data-updates (successful
-- fetches), data-failures (failed ones), data-offline (the last one
-- failed), data-cells (task cells shown) and data-changed (the cells,
-- "CAMPAIGN:TASK" words, whose state differs from the one first shown).
_M.SCRIPT = [[
(function(){
var root=document.documentElement,box=document.getElementById('campaigns'),
note=document.getElementById('conn'),stamp=document.getElementById('updated'),
url=root.getAttribute('data-fragment'),every=+root.getAttribute('data-interval')||1000,
chosen={},first={},prev={},changed=[],updates=0,failures=0,streak=0,last=null;
function keyOf(d){
  var k=d.getAttribute('data-key');if(k)return k;
  var a=d.parentElement&&d.parentElement.closest('[data-key]');if(!a)return null;
  var list=a.querySelectorAll('details'),i;
  for(i=0;i<list.length;i++)if(list[i]===d)return a.getAttribute('data-key')+'/'+i;
  return null;}
box.addEventListener('click',function(e){
  var s=e.target&&e.target.closest&&e.target.closest('summary');
  if(!s||!s.parentElement||s.parentElement.tagName!=='DETAILS')return;
  var d=s.parentElement;
  setTimeout(function(){var k=keyOf(d);if(k)chosen[k]=d.open;},0);});
function restore(){
  var list=box.querySelectorAll('details'),i,k;
  for(i=0;i<list.length;i++){k=keyOf(list[i]);if(k&&chosen.hasOwnProperty(k))list[i].open=chosen[k];}}
function track(){
  var cells=box.querySelectorAll('[data-task]'),i,c,camp,k,s;
  for(i=0;i<cells.length;i++){
    c=cells[i];camp=c.closest('[data-campaign]');
    k=encodeURIComponent(camp?camp.getAttribute('data-campaign'):'')+':'+c.getAttribute('data-task');
    s=c.getAttribute('data-state');
    if(!first.hasOwnProperty(k))first[k]=s;
    else if(first[k]!==s&&changed.indexOf(k)<0)changed.push(k);
    if(prev.hasOwnProperty(k)&&prev[k]!==s)c.classList.add('flash');
    prev[k]=s;}
  root.setAttribute('data-cells',String(cells.length));
  root.setAttribute('data-changed',changed.join(' '));}
function lost(why){
  failures++;streak++;root.setAttribute('data-failures',String(failures));
  root.setAttribute('data-offline','1');
  note.textContent='connection lost ('+why+'), retrying';note.hidden=false;}
function apply(text){
  updates++;streak=0;root.setAttribute('data-updates',String(updates));
  root.removeAttribute('data-offline');note.hidden=true;
  stamp.textContent='updated '+new Date().toLocaleTimeString();
  if(text===last)return;
  last=text;box.innerHTML=text;restore();track();}
function tick(){
  var ctl=typeof AbortController==='function'?new AbortController():null,
  guard=setTimeout(function(){if(ctl)ctl.abort();},10000);
  fetch(url,{cache:'no-store',credentials:'same-origin',signal:ctl?ctl.signal:undefined})
  .then(function(r){if(!r.ok)throw new Error('HTTP '+r.status);return r.text();})
  .then(function(t){try{apply(t);}catch(e){lost('page: '+(e&&e.message));}},
    function(e){lost(e&&e.name==='AbortError'?'timed out':(e&&e.message)||'network error');})
  .then(function(){clearTimeout(guard);setTimeout(tick,streak?Math.min(every*Math.pow(2,streak),5000):every);},
    function(){setTimeout(tick,every);});}
try{track();}catch(e){}
root.setAttribute('data-ready','1');
tick();})();
]]

return _M
