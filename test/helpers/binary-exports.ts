/**
 * Reads a shared library's format, CPU and exported function names from its
 * headers (ELF .dynsym, Mach-O LC_SYMTAB, PE export directory): enough to
 * check a cross-compiled artifact on a machine that cannot load it.
 */
import { readFileSync } from 'node:fs';

/** What a library file says about itself. */
export interface LibraryInfo {
  readonly format: 'elf' | 'macho' | 'pe';
  readonly cpu: 'x64' | 'arm64' | 'other';
  /** Whether it is a shared library (ELF ET_DYN, Mach-O MH_DYLIB, a PE DLL). */
  readonly shared: boolean;
  /** Exported symbol names, as the format writes them (Mach-O's carry a leading underscore). */
  readonly exports: readonly string[];
}

const cString = (buffer: Buffer, offset: number): string => buffer.toString('latin1', offset, buffer.indexOf(0, offset));

function elf(file: Buffer): LibraryInfo {
  const machine = file.readUInt16LE(0x12);
  const sectionsAt = Number(file.readBigUInt64LE(0x28));
  const entrySize = file.readUInt16LE(0x3a);
  const count = file.readUInt16LE(0x3c);
  const section = (i: number): { type: number; offset: number; size: number; link: number } => {
    const at = sectionsAt + i * entrySize;
    return {
      type: file.readUInt32LE(at + 4),
      offset: Number(file.readBigUInt64LE(at + 0x18)),
      size: Number(file.readBigUInt64LE(at + 0x20)),
      link: file.readUInt32LE(at + 0x28),
    };
  };
  const exports: string[] = [];
  for (let i = 0; i < count; i++) {
    const symbols = section(i);
    if (symbols.type !== 11) continue; // SHT_DYNSYM
    const names = section(symbols.link);
    for (let at = symbols.offset; at < symbols.offset + symbols.size; at += 24) {
      const binding = file[at + 4]! >> 4;
      const defined = file.readUInt16LE(at + 6) !== 0;
      if (defined && binding === 1) exports.push(cString(file, names.offset + file.readUInt32LE(at)));
    }
  }
  return {
    format: 'elf',
    cpu: machine === 0x3e ? 'x64' : machine === 0xb7 ? 'arm64' : 'other',
    shared: file.readUInt16LE(0x10) === 3,
    exports,
  };
}

function macho(file: Buffer): LibraryInfo {
  const cpuType = file.readUInt32LE(4);
  const commands = file.readUInt32LE(16);
  const exports: string[] = [];
  for (let at = 32, i = 0; i < commands; i++) {
    const command = file.readUInt32LE(at);
    if (command === 0x2) {
      // LC_SYMTAB: nlist_64 entries; an external symbol defined in a section is exported.
      const [symbolsAt, symbolCount, stringsAt] = [file.readUInt32LE(at + 8), file.readUInt32LE(at + 12), file.readUInt32LE(at + 16)];
      for (let s = 0; s < symbolCount; s++) {
        const entry = symbolsAt + s * 16;
        const type = file[entry + 4]!;
        if ((type & 0x01) !== 0 && (type & 0x0e) === 0x0e) exports.push(cString(file, stringsAt + file.readUInt32LE(entry)));
      }
    }
    at += file.readUInt32LE(at + 4);
  }
  const cpu = cpuType === 0x01000007 ? 'x64' : cpuType === 0x0100000c ? 'arm64' : 'other';
  return { format: 'macho', cpu, shared: file.readUInt32LE(12) === 6, exports };
}

function pe(file: Buffer): LibraryInfo {
  const header = file.readUInt32LE(0x3c);
  const machine = file.readUInt16LE(header + 4);
  const sectionCount = file.readUInt16LE(header + 6);
  const optionalSize = file.readUInt16LE(header + 20);
  const characteristics = file.readUInt16LE(header + 22);
  const optional = header + 24;
  const directories = optional + (file.readUInt16LE(optional) === 0x20b ? 112 : 96);
  const exportRva = file.readUInt32LE(directories);
  const sectionsAt = optional + optionalSize;
  const toOffset = (rva: number): number => {
    for (let i = 0; i < sectionCount; i++) {
      const at = sectionsAt + i * 40;
      const [virtualSize, virtualAddress, rawAt] = [file.readUInt32LE(at + 8), file.readUInt32LE(at + 12), file.readUInt32LE(at + 20)];
      if (rva >= virtualAddress && rva < virtualAddress + Math.max(virtualSize, 1)) return rawAt + rva - virtualAddress;
    }
    throw new Error(`RVA 0x${rva.toString(16)} is in no section`);
  };
  const exports: string[] = [];
  if (exportRva !== 0) {
    const directory = toOffset(exportRva);
    const [nameCount, namesRva] = [file.readUInt32LE(directory + 24), file.readUInt32LE(directory + 32)];
    const names = toOffset(namesRva);
    for (let i = 0; i < nameCount; i++) exports.push(cString(file, toOffset(file.readUInt32LE(names + i * 4))));
  }
  const cpu = machine === 0x8664 ? 'x64' : machine === 0xaa64 ? 'arm64' : 'other';
  return { format: 'pe', cpu, shared: (characteristics & 0x2000) !== 0, exports };
}

/** Reads `path`'s headers. */
export function libraryInfo(path: string): LibraryInfo {
  const file = readFileSync(path);
  if (file.readUInt32BE(0) === 0x7f454c46) return elf(file);
  if (file.readUInt32LE(0) === 0xfeedfacf) return macho(file);
  if (file.toString('latin1', 0, 2) === 'MZ') return pe(file);
  throw new Error(`${path}: not an ELF, Mach-O or PE file`);
}
