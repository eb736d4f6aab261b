#!/usr/bin/env python3
# Rough function lengths (opening-brace line to closing-brace line) in C/C++ files: prints each
# function over LIMIT lines. Usage: scripts/function_lengths.py 80 $(git ls-files "userspace/*.[ch]pp" "bpf/*.h")
import re, sys, pathlib
def strip(src):
    out=[];i=0;n=len(src)
    while i<n:
        c=src[i]
        if src.startswith('//',i):
            j=src.find('\n',i); i=n if j<0 else j; continue
        if src.startswith('/*',i):
            j=src.find('*/',i+2); seg=src[i:j+2]; out.append('\n'*seg.count('\n')); i=j+2; continue
        m=re.match(r'R"([^(]*)\(',src[i:i+20])
        if m:
            end=src.find(')'+m.group(1)+'"',i); seg=src[i:end+len(m.group(1))+2]; out.append('""'+'\n'*seg.count('\n')); i+=len(seg); continue
        if c in '"\'':
            j=i+1
            while j<n and src[j]!=c:
                j+=2 if src[j]=='\\' else 1
            out.append(c+c); i=j+1; continue
        out.append(c); i+=1
    return ''.join(out)
def funcs(path):
    s=strip(open(path,errors='replace').read())
    stack=[]; header=''; line=1; res=[]
    for ch in s:
        if ch=='\n': line+=1
        if ch=='{':
            h=header
            top=stack[-1][0] if stack else 'ns'
            if re.search(r'\bnamespace\b|extern\s*""',h): k='ns'
            elif re.search(r'\b(class|struct|union|enum)\b',h) and '(' not in h.split('=')[0] : k='class'
            elif top in ('ns','class') and ')' in h and not re.search(r'=\s*$',h.strip()): k='func'
            else: k='other'
            name=re.sub(r'\s+',' ',h.strip())[-70:]
            stack.append((k,line,name)); header=''
        elif ch=='}':
            if stack:
                k,start,name=stack.pop()
                if k=='func': res.append((line-start+1,start,name))
            header=''
        elif ch==';':
            header=''
        else: header+=ch
    return res
limit=int(sys.argv[1]); bad=0; total=0
for f in sys.argv[2:]:
    for n,start,name in funcs(f):
        total+=1
        if n>limit: bad+=1; print(f"{f}:{start}: {n} lines: {name}")
print(f"{total} functions checked, {bad} over {limit} lines")
