; ImageBeam's Windows installer (NSIS 3, Debian's nsis package).
; Built by `make package`:
;   makensis -DVERSION=0.1.0 -DVERSION4=0.1.0.1 -DBUILD_DIR=build/windows -DOUT=dist/ImageBeam-Setup-0.1.0.exe packaging/windows/imagebeam.nsi
; BUILD_DIR holds ImageBeam.exe (the window, GUI subsystem), imagebeam-cli.exe
; (the headless commands, console subsystem) and ImageBeam.ico.
;
; Installs for the current user (no administrator rights; %LOCALAPPDATA%\Programs)
; or for all users (Program Files), chosen on the first page or with
; /CurrentUser or /AllUsers; /S installs silently. A Start-menu folder, an
; optional desktop shortcut and an entry in "Installed apps" (Add/Remove
; Programs) whose Uninstall removes everything it installed. The user's
; settings and history (%AppData%\imagebeam, %AppData%\fyne) are kept.

; A 64-bit (PE32+) installer for a 64-bit program; Unicode.
Target amd64-unicode
ManifestDPIAware true
SetCompressor /SOLID lzma
SetCompressorDictSize 64
; Files keep the build's timestamps (SOURCE_DATE_EPOCH): same input, same installer.
SetDateSave on

!ifndef VERSION | VERSION4 | BUILD_DIR | OUT
  !error "define VERSION, VERSION4, BUILD_DIR and OUT (see the header of this file)"
!endif

; make package SIGN_PKCS12=… defines SIGN: the installer and the uninstaller it
; writes are signed as makensis finishes them (see sign.sh).
!ifdef SIGN
  !finalize '"${SIGN}" "%1"' = 0
  !uninstfinalize '"${SIGN}" "%1"' = 0
!endif

!define APP "ImageBeam"
!define APP_ID "org.imagebeam.ImageBeam"
!define PUBLISHER "ImageBeam"
!define UNINST_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\${APP_ID}"
!define SETTINGS_KEY "Software\${APP}"

Name "${APP} ${VERSION}"
OutFile "${OUT}"
BrandingText "${APP} ${VERSION}"

; Per-user or all-users install: MultiUser asks admins which, standard users
; get a per-user install without a UAC prompt.
!define MULTIUSER_EXECUTIONLEVEL Highest
!define MULTIUSER_MUI
!define MULTIUSER_INSTALLMODE_COMMANDLINE
!define MULTIUSER_USE_PROGRAMFILES64
!define MULTIUSER_INSTALLMODE_INSTDIR "${APP}"
; A reinstall or upgrade proposes the folder and the mode used last time.
!define MULTIUSER_INSTALLMODE_INSTDIR_REGISTRY_KEY "${SETTINGS_KEY}"
!define MULTIUSER_INSTALLMODE_INSTDIR_REGISTRY_VALUENAME "InstallDir"
!define MULTIUSER_INSTALLMODE_DEFAULT_REGISTRY_KEY "${SETTINGS_KEY}"
!define MULTIUSER_INSTALLMODE_DEFAULT_REGISTRY_VALUENAME "InstallMode"
!include MultiUser.nsh
!include MUI2.nsh

!define MUI_ICON "${BUILD_DIR}\ImageBeam.ico"
!define MUI_UNICON "${BUILD_DIR}\ImageBeam.ico"
!define MUI_ABORTWARNING
!define MUI_COMPONENTSPAGE_NODESC
!define MUI_FINISHPAGE_RUN "$INSTDIR\ImageBeam.exe"
!define MUI_FINISHPAGE_RUN_TEXT "Start ${APP}"

!insertmacro MUI_PAGE_WELCOME
!insertmacro MULTIUSER_PAGE_INSTALLMODE
!insertmacro MUI_PAGE_COMPONENTS
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_PAGE_FINISH

!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES

!insertmacro MUI_LANGUAGE "English"

; Version resource of the installer itself (Explorer's Properties > Details).
VIProductVersion "${VERSION4}"
VIAddVersionKey /LANG=${LANG_ENGLISH} "ProductName" "${APP}"
VIAddVersionKey /LANG=${LANG_ENGLISH} "ProductVersion" "${VERSION}"
VIAddVersionKey /LANG=${LANG_ENGLISH} "FileVersion" "${VERSION}"
VIAddVersionKey /LANG=${LANG_ENGLISH} "FileDescription" "${APP} installer"
VIAddVersionKey /LANG=${LANG_ENGLISH} "CompanyName" "${PUBLISHER}"
VIAddVersionKey /LANG=${LANG_ENGLISH} "LegalCopyright" "The ImageBeam authors"

Function .onInit
  !insertmacro MULTIUSER_INIT
FunctionEnd

Function un.onInit
  !insertmacro MULTIUSER_UNINIT
FunctionEnd

Section "${APP} (required)" SecApp
  SectionIn RO
  SetOutPath "$INSTDIR"
  File "${BUILD_DIR}\ImageBeam.exe"
  File "${BUILD_DIR}\imagebeam-cli.exe"
  WriteUninstaller "$INSTDIR\uninstall.exe"

  ; Start menu: the window, and a console for the headless commands.
  CreateDirectory "$SMPROGRAMS\${APP}"
  CreateShortcut "$SMPROGRAMS\${APP}\${APP}.lnk" "$INSTDIR\ImageBeam.exe" "" "$INSTDIR\ImageBeam.exe" 0
  CreateShortcut "$SMPROGRAMS\${APP}\${APP} command line.lnk" "$SYSDIR\cmd.exe" \
    '/k "cd /d "$INSTDIR" && imagebeam-cli.exe help"' "$INSTDIR\imagebeam-cli.exe" 0

  ; Installed apps / Add or Remove Programs, in the mode's hive (HKCU or HKLM).
  WriteRegStr SHCTX "${SETTINGS_KEY}" "InstallDir" "$INSTDIR"
  WriteRegStr SHCTX "${SETTINGS_KEY}" "InstallMode" "$MultiUser.InstallMode"
  WriteRegStr SHCTX "${UNINST_KEY}" "DisplayName" "${APP}"
  WriteRegStr SHCTX "${UNINST_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr SHCTX "${UNINST_KEY}" "Publisher" "${PUBLISHER}"
  WriteRegStr SHCTX "${UNINST_KEY}" "DisplayIcon" "$INSTDIR\ImageBeam.exe,0"
  WriteRegStr SHCTX "${UNINST_KEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr SHCTX "${UNINST_KEY}" "UninstallString" '"$INSTDIR\uninstall.exe" /$MultiUser.InstallMode'
  WriteRegStr SHCTX "${UNINST_KEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /$MultiUser.InstallMode /S'
  WriteRegDWORD SHCTX "${UNINST_KEY}" "NoModify" 1
  WriteRegDWORD SHCTX "${UNINST_KEY}" "NoRepair" 1
  ; EstimatedSize is in KiB.
  SectionGetSize ${SecApp} $0
  WriteRegDWORD SHCTX "${UNINST_KEY}" "EstimatedSize" $0
SectionEnd

Section "Desktop shortcut" SecDesktop
  CreateShortcut "$DESKTOP\${APP}.lnk" "$INSTDIR\ImageBeam.exe" "" "$INSTDIR\ImageBeam.exe" 0
SectionEnd

Section "Uninstall"
  Delete "$DESKTOP\${APP}.lnk"
  Delete "$SMPROGRAMS\${APP}\${APP}.lnk"
  Delete "$SMPROGRAMS\${APP}\${APP} command line.lnk"
  RMDir "$SMPROGRAMS\${APP}"
  Delete "$INSTDIR\ImageBeam.exe"
  Delete "$INSTDIR\imagebeam-cli.exe"
  Delete "$INSTDIR\uninstall.exe"
  ; Only if empty: never delete files the user put there.
  RMDir "$INSTDIR"
  DeleteRegKey SHCTX "${UNINST_KEY}"
  DeleteRegKey SHCTX "${SETTINGS_KEY}"
SectionEnd
