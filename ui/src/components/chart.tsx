// uPlot in a Preact component: created once, fed new data on every render,
// destroyed on unmount; width follows the container.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export function Chart(props: { options: (width: number) => uPlot.Options; data: uPlot.AlignedData; testid?: string }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  useEffect(() => {
    const el = box.current!;
    plot.current = new uPlot(props.options(el.clientWidth || 300), props.data, el);
    const resize = new ResizeObserver(() => plot.current?.setSize({ width: el.clientWidth || 300, height: plot.current.height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, []);
  useEffect(() => {
    plot.current?.setData(props.data);
  }, [props.data]);
  return <div class="chart" ref={box} data-testid={props.testid} />;
}

const css = (name: string): string => getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';

export function axisColors(): Pick<uPlot.Axis, 'stroke' | 'grid' | 'ticks'> {
  return { stroke: css('--muted'), grid: { stroke: css('--grid'), width: 1 }, ticks: { stroke: css('--grid'), width: 1 } };
}
export const color = css;
