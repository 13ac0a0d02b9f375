import type { CaptureStatsSnapshot } from '@syncap/core';

/** One human line: groups/s, span p50/p99, drops per camera. */
export function formatStatusLine(s: CaptureStatsSnapshot): string {
  const us = (ns: number) => `${(ns / 1000).toFixed(0)}µs`;
  const drops = Object.entries(s.dropsByCamera)
    .map(([cam, n]) => `${cam}:${n}`)
    .join(' ');
  const lost = s.lostCameras.length > 0 ? ` lost:${s.lostCameras.join(',')}` : '';
  return `groups ${s.groups} (${s.groupsPerSec}/s) incomplete ${s.incompleteGroups} span p50 ${us(s.spanNs.p50)} p99 ${us(s.spanNs.p99)} max ${us(s.spanNs.max)} | drops ${drops}${lost} | switches ${s.policySwitches} dropped-groups ${s.droppedGroups}`;
}
