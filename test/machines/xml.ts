// A strict little XML reader for the SVG tests: elements, attributes and text only (what toSVG
// writes). Throws on anything not well-formed: unbalanced or crossed tags, unquoted or duplicate
// attributes, a bare `&` or `<`, text outside the root element.

export interface XmlElement {
  readonly name: string
  readonly attributes: Readonly<Record<string, string>>
  readonly children: ReadonlyArray<XmlElement>
  readonly text: string
}

const ENTITY = /&(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/g

const unescape = (raw: string, where: string): string => {
  if (raw.replace(ENTITY, "").includes("&")) throw new Error(`bare '&' in ${where}: ${JSON.stringify(raw)}`)
  return raw.replace(ENTITY, (e) => ({ "&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&apos;": "'" }[e] ?? String.fromCodePoint(Number(e.slice(2, -1).replace(/^x/, "0x")))))
}

const TAG = /<(\/?)([A-Za-z_][\w:.-]*)((?:\s+[A-Za-z_][\w:.-]*\s*=\s*"[^"<]*")*)\s*(\/?)>/y
const ATTR = /([A-Za-z_][\w:.-]*)\s*=\s*"([^"<]*)"/g

export const parseXml = (source: string): XmlElement => {
  type Open = { name: string; attributes: Record<string, string>; children: Array<XmlElement>; text: string }
  const stack: Array<Open> = []
  let root: XmlElement | undefined
  let i = 0
  while (i < source.length) {
    if (source[i] !== "<") {
      const end = source.indexOf("<", i)
      const raw = source.slice(i, end === -1 ? undefined : end)
      const top = stack[stack.length - 1]
      if (top === undefined) {
        if (raw.trim() !== "") throw new Error(`text outside the root element: ${JSON.stringify(raw.slice(0, 40))}`)
      } else top.text += unescape(raw, `<${top.name}>`)
      i = end === -1 ? source.length : end
      continue
    }
    TAG.lastIndex = i
    const m = TAG.exec(source)
    if (m === null) throw new Error(`malformed tag at ${i}: ${JSON.stringify(source.slice(i, i + 60))}`)
    const [all, closing, name, attrs, selfClosing] = m as unknown as [string, string, string, string, string]
    i += all.length
    if (closing === "/") {
      const open = stack.pop()
      if (open === undefined || open.name !== name || attrs !== "" || selfClosing === "/") throw new Error(`</${name}> does not close ${open ? `<${open.name}>` : "anything"}`)
      const element: XmlElement = open
      if (stack.length === 0) {
        if (root !== undefined) throw new Error("two root elements")
        root = element
      } else stack[stack.length - 1]!.children.push(element)
      continue
    }
    const attributes: Record<string, string> = {}
    for (const a of attrs.matchAll(ATTR)) {
      if (a[1]! in attributes) throw new Error(`duplicate attribute ${a[1]} on <${name}>`)
      attributes[a[1]!] = unescape(a[2]!, `${name}@${a[1]}`)
    }
    const element: Open = { name, attributes, children: [], text: "" }
    if (selfClosing === "/") {
      if (stack.length === 0) throw new Error(`<${name}/> outside the root element`)
      stack[stack.length - 1]!.children.push(element)
    } else {
      if (stack.length === 0 && root !== undefined) throw new Error("two root elements")
      stack.push(element)
    }
  }
  if (stack.length > 0) throw new Error(`<${stack[stack.length - 1]!.name}> is never closed`)
  if (root === undefined) throw new Error("no root element")
  return root
}

/** Every element under `root` (itself included), depth-first. */
export const descendants = (root: XmlElement): ReadonlyArray<XmlElement> => [root, ...root.children.flatMap(descendants)]
